import CNATS
import Foundation
import Synchronization

/// One value of a KV bucket.
public struct KeyValueEntry: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]
    public var revision: UInt64

    public init(key: String, value: [UInt8], revision: UInt64) {
        self.key = key
        self.value = value
        self.revision = revision
    }
}

/// What a KV watch reports.
public enum KeyValueChange: Sendable, Hashable {
    case put(KeyValueEntry)
    /// The key was deleted or purged.
    case deleted(key: String, revision: UInt64)
    /// Every value that existed when the watch started has been delivered; what follows are live changes.
    case caughtUp
}

/// A bucket to create when it does not exist.
public struct KeyValueBucketConfiguration: Sendable, Hashable {
    public var bucket: String
    /// Values kept per key (1 to 64).
    public var history: UInt8 = 1
    /// Entries older than this expire; zero keeps them.
    public var ttl: Duration = .zero
    public var maxValueSize: Int32 = 1024 * 1024
    public var fileStorage = true
    /// Copies kept by a NATS cluster; nil takes the connection's ``NATSConfiguration/replicas``.
    public var replicas: Int?

    public init(bucket: String) { self.bucket = bucket }
}

/// A JetStream KV bucket. Thread-safe (libnats `kvStore` is); the C handle is freed once, in `deinit`.
public final class NATSKeyValue: Sendable {
    public let bucket: String
    let handle: Handle
    private let connection: NATSConnection

    /// The `kvStore`. `@unchecked Sendable`: libnats KV stores are thread-safe; set once, destroyed once in `deinit`.
    final class Handle: @unchecked Sendable {
        let store: OpaquePointer
        init(_ store: OpaquePointer) { self.store = store }
        deinit { kvStore_Destroy(store) }
    }

    init(connection: NATSConnection, bucket: String, store: OpaquePointer) {
        self.connection = connection
        self.bucket = bucket
        self.handle = Handle(store)
    }

    /// The value of `key`, or nil when it does not exist (or was deleted).
    public func get(_ key: String) async throws(NATSError) -> KeyValueEntry? {
        let handle = self.handle
        let result = await NATSConnection.blocking { () -> Result<KeyValueEntry?, NATSError> in
            var entry: OpaquePointer?
            let status = kvStore_Get(&entry, handle.store, key)
            if status == NATS_NOT_FOUND { return .success(nil) }
            guard status == NATS_OK, let entry else { return .failure(.from(status, "kv get \(key)")) }
            defer { kvEntry_Destroy(entry) }
            return .success(KeyValueEntry(copying: entry))
        }
        return try result.get()
    }

    /// Sets `key`; returns the new revision.
    @discardableResult
    public func put(_ key: String, value: [UInt8]) async throws(NATSError) -> UInt64 {
        let handle = self.handle
        let result = await NATSConnection.blocking { () -> Result<UInt64, NATSError> in
            var revision: UInt64 = 0
            let status = value.withUnsafeBytes { bytes in
                kvStore_Put(&revision, handle.store, key, bytes.baseAddress, Int32(clamping: bytes.count))
            }
            guard status == NATS_OK else { return .failure(.from(status, "kv put \(key)")) }
            return .success(revision)
        }
        return try result.get()
    }

    /// Sets `key` only when it does not exist (``NATSError/Code/alreadyExists`` otherwise): exactly one writer wins.
    @discardableResult
    public func create(_ key: String, value: [UInt8]) async throws(NATSError) -> UInt64 {
        let handle = self.handle
        let result = await NATSConnection.blocking { () -> Result<UInt64, NATSError> in
            var revision: UInt64 = 0
            let status = value.withUnsafeBytes { bytes in
                kvStore_Create(&revision, handle.store, key, bytes.baseAddress, Int32(clamping: bytes.count))
            }
            guard status == NATS_OK else {
                var error = NATSError.from(status, "kv create \(key)")
                if error.message.contains("wrong last sequence") || status == NATS_ERR { error.code = .alreadyExists }
                return .failure(error)
            }
            return .success(revision)
        }
        return try result.get()
    }

    /// Sets `key` only when its latest revision is `expectedRevision` (``NATSError/Code/wrongRevision`` otherwise):
    /// a compare-and-swap, so of two writers that read the same revision exactly one wins.
    @discardableResult
    public func update(_ key: String, value: [UInt8], expectedRevision: UInt64) async throws(NATSError) -> UInt64 {
        let handle = self.handle
        let result = await NATSConnection.blocking { () -> Result<UInt64, NATSError> in
            var revision: UInt64 = 0
            let status = value.withUnsafeBytes { bytes in
                kvStore_Update(
                    &revision, handle.store, key, bytes.baseAddress, Int32(clamping: bytes.count), expectedRevision)
            }
            guard status == NATS_OK else {
                var error = NATSError.from(status, "kv update \(key)")
                if error.message.contains("wrong last sequence") || status == NATS_ERR { error.code = .wrongRevision }
                return .failure(error)
            }
            return .success(revision)
        }
        return try result.get()
    }

    /// The current values of the keys matching `keys` (a watch read up to ``KeyValueChange/caughtUp``), waiting at
    /// most `timeout` for the server; ``NATSError/Code/timeout`` when the snapshot did not complete in time.
    public func entries(matching keys: String = ">", timeout: Duration = .seconds(5)) async throws(NATSError)
        -> [String: KeyValueEntry]
    {
        let watch = try await self.watch(keys, bufferSize: 1 << 20)
        let timer = Task {
            if (try? await Task.sleep(for: timeout)) != nil { watch.stop() }
        }
        defer {
            timer.cancel()
            watch.stop()
        }
        var entries: [String: KeyValueEntry] = [:]
        for await change in watch {
            switch change {
            case .put(let entry): entries[entry.key] = entry
            case .deleted(let key, _): entries[key] = nil
            case .caughtUp: return entries
            }
        }
        // The watch ended before catching up: the timer stopped it, or the connection closed.
        throw NATSError(code: .timeout, message: "kv \(bucket): snapshot of \(keys) did not complete in \(timeout)")
    }

    /// Deletes `key` (a delete marker; watchers see ``KeyValueChange/deleted(key:revision:)``).
    public func delete(_ key: String) async throws(NATSError) {
        let handle = self.handle
        let status = await NATSConnection.blocking { kvStore_Delete(handle.store, key) }
        try NATSError.check(status, "kv delete \(key)")
    }

    /// Watches the keys matching `keys` (`>` for all, `node.*`...): first the current values, then
    /// ``KeyValueChange/caughtUp``, then every change, until the sequence is dropped or the connection closes.
    public func watch(_ keys: String = ">", bufferSize: Int = 1024) async throws(NATSError) -> KeyValueWatch {
        let handle = self.handle
        let result = await NATSConnection.blocking { () -> Result<HandleTransfer, NATSError> in
            var options = kvWatchOptions()
            kvWatchOptions_Init(&options)
            var watcher: OpaquePointer?
            let status = kvStore_Watch(&watcher, handle.store, keys, &options)
            guard status == NATS_OK, let watcher else { return .failure(.from(status, "kv watch \(keys)")) }
            return .success(HandleTransfer(watcher))
        }
        return KeyValueWatch(watcher: try result.get().pointer, keyValue: self, bufferSize: bufferSize)
    }
}

/// Carries a libnats pointer across the blocking queue; `@unchecked Sendable` because it is handed over once.
private struct HandleTransfer: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// The changes of a KV watch as an `AsyncSequence` (bounded buffer; oldest dropped). A thread of its own waits on
/// libnats and frees the watcher when the watch ends.
public final class KeyValueWatch: AsyncSequence, Sendable {
    public typealias Element = KeyValueChange
    public typealias AsyncIterator = AsyncStream<KeyValueChange>.Iterator

    private let stream: AsyncStream<KeyValueChange>
    private let control: Control

    /// Stops the reader; `@unchecked Sendable`: `kvWatcher_Stop` is documented as callable from any thread, and the
    /// pointer is only destroyed by the reader thread after `stopped` is set and its last `kvWatcher_Next` returned.
    final class Control: @unchecked Sendable {
        let watcher: OpaquePointer
        let stopped = Atomic<Bool>(false)
        let finished = Mutex<Bool>(false)
        init(_ watcher: OpaquePointer) { self.watcher = watcher }

        func stop() {
            guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
            finished.withLock { done in
                if !done { kvWatcher_Stop(watcher) }
            }
        }
    }

    init(watcher: OpaquePointer, keyValue: NATSKeyValue, bufferSize: Int) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: KeyValueChange.self, bufferingPolicy: .bufferingNewest(Swift.max(1, bufferSize)))
        self.stream = stream
        let control = Control(watcher)
        self.control = control
        continuation.onTermination = { _ in control.stop() }
        let thread = Thread {
            // Holds the bucket (and so the connection) until the watcher is destroyed.
            withExtendedLifetime(keyValue) {
                while !control.stopped.load(ordering: .acquiring) {
                    var entry: OpaquePointer?
                    let status = kvWatcher_Next(&entry, control.watcher, 1000)
                    if status == NATS_TIMEOUT { continue }
                    guard status == NATS_OK else { break }
                    guard let entry else {
                        continuation.yield(.caughtUp)
                        continue
                    }
                    let copied = KeyValueEntry(copying: entry)
                    let operation = kvEntry_Operation(entry)
                    kvEntry_Destroy(entry)
                    if operation == kvOp_Put {
                        continuation.yield(.put(copied))
                    } else {
                        continuation.yield(.deleted(key: copied.key, revision: copied.revision))
                    }
                }
                control.finished.withLock { done in
                    done = true
                    kvWatcher_Destroy(control.watcher)
                }
                continuation.finish()
            }
        }
        thread.name = "kv-watch-\(keyValue.bucket)"
        thread.start()
    }

    /// Ends the watch; the sequence finishes.
    public func stop() { control.stop() }

    public func makeAsyncIterator() -> AsyncStream<KeyValueChange>.Iterator { stream.makeAsyncIterator() }

    deinit { control.stop() }
}

extension KeyValueEntry {
    init(copying entry: OpaquePointer) {
        let key = kvEntry_Key(entry).map { String(cString: $0) } ?? ""
        let count = Int(kvEntry_ValueLen(entry))
        var value: [UInt8] = []
        if count > 0, let data = kvEntry_Value(entry) {
            value = Array(UnsafeRawBufferPointer(start: data, count: count))
        }
        self.init(key: key, value: value, revision: kvEntry_Revision(entry))
    }
}

extension NATSConnection {
    /// The KV bucket `configuration.bucket`, created with `configuration` when it does not exist.
    public func keyValue(_ configuration: KeyValueBucketConfiguration) async throws(NATSError) -> NATSKeyValue {
        try await keyValue(configuration.bucket, creating: configuration)
    }

    /// The existing KV bucket `bucket` (``NATSError/Code/notFound`` when it does not exist), or created with
    /// `creating` when given.
    public func keyValue(
        _ bucket: String, creating: KeyValueBucketConfiguration? = nil
    ) async throws(NATSError) -> NATSKeyValue {
        let handles = self.handles
        let replicas = creating.map { $0.replicas ?? configuration.replicas }
        let result = await Self.blocking { () -> Result<(HandleTransfer, existing: Int?), NATSError> in
            var store: OpaquePointer?
            var status = js_KeyValue(&store, handles.jetStream, bucket)
            var existing: Int?
            if status == NATS_OK, let store, replicas != nil {
                var info: OpaquePointer?
                if kvStore_Status(&info, store) == NATS_OK, let info {
                    existing = Int(kvStatus_Replicas(info))
                    kvStatus_Destroy(info)
                }
            }
            if status == NATS_NOT_FOUND, let creating {
                status = creating.bucket.withCString { name -> natsStatus in
                    var config = kvConfig()
                    kvConfig_Init(&config)
                    config.Bucket = name
                    config.History = creating.history
                    config.TTL = creating.ttl.milliseconds
                    config.MaxValueSize = creating.maxValueSize
                    config.StorageType = creating.fileStorage ? js_FileStorage : js_MemoryStorage
                    config.Replicas = Int32(clamping: replicas ?? 1)
                    return js_CreateKeyValue(&store, handles.jetStream, &config)
                }
            }
            guard status == NATS_OK, let store else { return .failure(.from(status, "kv bucket \(bucket)")) }
            return .success((HandleTransfer(store), existing))
        }
        let (store, existing) = try result.get()
        if let existing, let replicas, existing != replicas {
            // An existing bucket is never recreated (that would lose its data): it keeps its replicas.
            logger.warning(
                """
                NATS: KV bucket \(bucket) has \(existing) replica(s), not the \(replicas) configured; kept as it is \
                (change it with `nats stream edit KV_\(bucket) --replicas \(replicas)`)
                """)
        }
        return NATSKeyValue(connection: self, bucket: bucket, store: store.pointer)
    }
}
