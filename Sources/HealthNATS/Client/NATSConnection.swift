import CNATS
import Dispatch
import Foundation
import Logging
import Synchronization

/// A message received on a subscription or as a reply; the payload is copied out of libnats.
public struct NATSMessage: Sendable, Hashable {
    public var subject: String
    /// Where a reply goes, when the sender expects one.
    public var replyTo: String?
    public var payload: [UInt8]
    /// NATS headers (one value per key; the first when a key repeats), e.g. Spinifex's `X-Account-ID`.
    public var headers: [String: String]

    public init(subject: String, replyTo: String? = nil, payload: [UInt8], headers: [String: String] = [:]) {
        self.subject = subject
        self.replyTo = replyTo
        self.payload = payload
        self.headers = headers
    }

    /// The payload as UTF-8 text (invalid bytes replaced).
    public var text: String { String(decoding: payload, as: UTF8.self) }
}

/// A connection to NATS (libnats underneath) that reconnects by itself with exponential backoff.
///
/// Thread safety: libnats connections, JetStream contexts and KV stores are safe to use from many threads at once,
/// so every method may be called from any task. Calls that wait for the server (``request(_:payload:timeout:)``,
/// JetStream and KV operations) run on a private dispatch queue, never on the cooperative pool.
///
/// Lifetime: ``close()`` closes the connection (later operations fail with ``NATSError/Code/closed``); the C handles
/// are freed exactly once, in `deinit`, when nothing (subscription, KV bucket) uses the connection any more.
public final class NATSConnection: Sendable {
    public let configuration: NATSConfiguration
    let handles: Handles
    let logger: Logger
    private let closed = Atomic<Bool>(false)

    /// The C handles. `@unchecked Sendable`: libnats documents `natsConnection` and `jsCtx` as thread-safe, the
    /// pointers never change after init, and they are destroyed only in `deinit` of the owning connection.
    final class Handles: @unchecked Sendable {
        let connection: OpaquePointer
        let jetStream: OpaquePointer

        init(connection: OpaquePointer, jetStream: OpaquePointer) {
            self.connection = connection
            self.jetStream = jetStream
        }

        deinit {
            jsCtx_Destroy(jetStream)
            natsConnection_Destroy(connection)
        }
    }

    /// Where calls that wait for the server run, so they never block the cooperative thread pool.
    static let blockingQueue = DispatchQueue(label: "hive-health.nats", attributes: .concurrent)

    /// Connects to `configuration.url`. When the server cannot be reached now, the connection is still returned and
    /// keeps trying in the background (with backoff), unless `requireServer` is set.
    public static func connect(
        _ configuration: NATSConfiguration, requireServer: Bool = false, logger: Logger
    ) async throws(NATSError) -> NATSConnection {
        let result = await blocking { () -> Result<Handles, NATSError> in
            Result { () throws(NATSError) in
                // One attempt first: a TLS or token failure is reported now, once, instead of being retried unseen.
                do throws(NATSError) {
                    return try makeHandles(configuration, retry: false)
                } catch {
                    guard !requireServer, error.code == .notConnected else { throw error }
                    return try makeHandles(configuration, retry: true)
                }
            }
        }
        let handles = try result.get()
        logger.debug("NATS connection created", metadata: ["url": "\(configuration.url)"])
        return NATSConnection(configuration: configuration, handles: handles, logger: logger)
    }

    private init(configuration: NATSConfiguration, handles: Handles, logger: Logger) {
        self.configuration = configuration
        self.handles = handles
        self.logger = logger
    }

    private static func makeHandles(_ configuration: NATSConfiguration, retry: Bool) throws(NATSError) -> Handles {
        var options: OpaquePointer?
        try NATSError.check(natsOptions_Create(&options), "options")
        guard let options else { throw NATSError(code: .other, message: "options: no memory") }
        defer { natsOptions_Destroy(options) }
        let servers = configuration.servers
        guard !servers.isEmpty else {
            throw NATSError(code: .invalidArgument, message: "no NATS server in '\(configuration.url)'")
        }
        if servers.count == 1 {
            try NATSError.check(natsOptions_SetURL(options, servers[0]), "url \(configuration.url)")
        } else {
            // A cluster: libnats connects to one of them and reconnects to another when it is lost.
            let copies = servers.map { strdup($0) }
            defer { copies.forEach { free($0) } }
            var pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
            let status = pointers.withUnsafeMutableBufferPointer {
                natsOptions_SetServers(options, $0.baseAddress, Int32($0.count))
            }
            try NATSError.check(status, "servers \(configuration.url)")
        }
        if let token = configuration.token {
            try NATSError.check(natsOptions_SetToken(options, token), "token")
        }
        if let caFile = configuration.caCertificateFile { try secure(options, caFile: caFile, configuration) }
        try NATSError.check(natsOptions_SetName(options, configuration.name), "name")
        try NATSError.check(natsOptions_SetTimeout(options, configuration.connectTimeout.milliseconds), "timeout")
        try NATSError.check(natsOptions_SetAllowReconnect(options, true), "reconnect")
        try NATSError.check(natsOptions_SetMaxReconnect(options, -1), "reconnect")
        try NATSError.check(
            hh_nats_options_set_backoff(
                options, configuration.reconnectBase.milliseconds, configuration.reconnectMax.milliseconds),
            "reconnect backoff")
        try NATSError.check(
            natsOptions_SetReconnectBufSize(options, Int32(clamping: configuration.reconnectBufferBytes)),
            "reconnect buffer")
        try NATSError.check(
            natsOptions_SetPingInterval(options, configuration.pingInterval.milliseconds), "ping interval")
        try NATSError.check(natsOptions_SetMaxPingsOut(options, 2), "pings")
        if retry {
            // With a callback, a failed first connect returns NATS_NOT_YET_CONNECTED and keeps trying in libnats.
            try NATSError.check(
                natsOptions_SetRetryOnFailedConnect(options, true, { _, _ in }, nil), "retry on failed connect")
        }
        var connection: OpaquePointer?
        let status = natsConnection_Connect(&connection, options)
        guard status == NATS_OK || (retry && status == NATS_NOT_YET_CONNECTED), let connection else {
            if let connection { natsConnection_Destroy(connection) }
            throw connectError(NATSError.from(status, "connect \(configuration.url)"), configuration)
        }
        var jsOptions = jsOptions()
        jsOptions_Init(&jsOptions)
        jsOptions.Wait = configuration.jetStreamTimeout.milliseconds
        var jetStream: OpaquePointer?
        let jsStatus = natsConnection_JetStream(&jetStream, connection, &jsOptions)
        guard jsStatus == NATS_OK, let jetStream else {
            natsConnection_Destroy(connection)
            throw NATSError.from(jsStatus, "jetstream context")
        }
        return Handles(connection: connection, jetStream: jetStream)
    }

    /// TLS that verifies the server against `caFile` (and its host name, see
    /// ``NATSConfiguration/expectedHostname``). An unreadable or empty CA file is a ``NATSError/Code/tls`` error.
    private static func secure(
        _ options: OpaquePointer, caFile: String, _ configuration: NATSConfiguration
    ) throws(NATSError) {
        guard FileManager.default.isReadableFile(atPath: caFile) else {
            throw NATSError(
                code: .tls,
                message:
                    "NATS \(configuration.url): TLS: cannot read the CA file \(caFile) ([nodes.<node>.nats] cacert)")
        }
        try NATSError.check(natsOptions_SetSecure(options, true), "tls")
        let status = natsOptions_LoadCATrustedCertificates(options, caFile)
        guard status == NATS_OK else {
            let detail = NATSError.from(status, "load").message
            throw NATSError(
                code: .tls, status: status.rawValue,
                message:
                    "NATS \(configuration.url): TLS: the CA file \(caFile) holds no usable certificate (\(detail))")
        }
        if let hostname = configuration.verifiedHostname {
            try NATSError.check(natsOptions_SetExpectedHostname(options, hostname), "tls hostname \(hostname)")
        }
    }

    /// A failed connect as one clear sentence when it is TLS or the token: the server, what failed, and the CA file.
    private static func connectError(_ error: NATSError, _ configuration: NATSConfiguration) -> NATSError {
        let ca = configuration.caCertificateFile.map { "the CA file \($0)" } ?? "no CA file (cacert unset)"
        var error = error
        // With TLS on, libnats reports a refused certificate as a failed handshake of the connection.
        if configuration.caCertificateFile != nil, error.code == .other || error.code == .notConnected,
            error.message.lowercased().contains("ssl") || error.message.lowercased().contains("certificate")
            || error.message.lowercased().contains("handshake")
        {
            error.code = .tls
        }
        switch error.code {
        case .tls:
            error.message =
                "NATS \(configuration.url): TLS failed, the server was not verified against \(ca) "
                + "([nodes.<node>.nats] cacert): \(error.message)"
        case .authorization:
            error.message =
                "NATS \(configuration.url): the server refused the token ([nodes.<node>.nats.acl] token"
                + "\(configuration.token == nil ? " is unset" : "")) with TLS verified against \(ca): \(error.message)"
        default: break
        }
        return error
    }

    /// Whether the connection is up right now (it may be reconnecting).
    public var isConnected: Bool { natsConnection_Status(handles.connection) == NATS_CONN_STATUS_CONNECTED }

    /// Closes the connection: subscriptions end, later operations fail. Safe to call more than once.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        natsConnection_Close(handles.connection)
    }

    /// Publishes `payload` on `subject` (buffered by libnats while reconnecting, up to its reconnect buffer).
    public func publish(_ subject: String, payload: [UInt8]) throws(NATSError) {
        let status = payload.withUnsafeBytes { bytes in
            natsConnection_Publish(handles.connection, subject, bytes.baseAddress, Int32(clamping: bytes.count))
        }
        try NATSError.check(status, "publish \(subject)")
    }

    /// Sends everything buffered to the server and waits for it to acknowledge, up to `timeout`.
    public func flush(timeout: Duration = .seconds(5)) async throws(NATSError) {
        let connection = handles
        let status = await Self.blocking { natsConnection_FlushTimeout(connection.connection, timeout.milliseconds) }
        try NATSError.check(status, "flush")
    }

    /// Sends a request (with `headers`, when any) and waits up to `timeout` for the first reply. No subscriber:
    /// ``NATSError/Code/noResponders``.
    public func request(
        _ subject: String, payload: [UInt8], headers: [String: String] = [:], timeout: Duration
    ) async throws(NATSError) -> NATSMessage {
        let connection = handles
        let result = await Self.blocking { () -> Result<NATSMessage, NATSError> in
            var reply: OpaquePointer?
            var status: natsStatus
            if headers.isEmpty {
                status = payload.withUnsafeBytes { bytes in
                    natsConnection_Request(
                        &reply, connection.connection, subject, bytes.baseAddress, Int32(clamping: bytes.count),
                        timeout.milliseconds)
                }
            } else {
                var message: OpaquePointer?
                status = payload.withUnsafeBytes { bytes in
                    natsMsg_Create(
                        &message, subject, nil, bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                        Int32(clamping: bytes.count))
                }
                guard status == NATS_OK, let message else {
                    return .failure(NATSError.from(status, "request \(subject)"))
                }
                defer { natsMsg_Destroy(message) }
                for (key, value) in headers.sorted(by: { $0.key < $1.key }) where status == NATS_OK {
                    status = natsMsgHeader_Set(message, key, value)
                }
                if status == NATS_OK {
                    status = natsConnection_RequestMsg(&reply, connection.connection, message, timeout.milliseconds)
                }
            }
            guard status == NATS_OK, let reply else { return .failure(NATSError.from(status, "request \(subject)")) }
            defer { natsMsg_Destroy(reply) }
            return .success(NATSMessage(copying: reply))
        }
        return try result.get()
    }

    /// Runs `body` on the blocking queue and waits for it without holding a cooperative thread.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            blockingQueue.async { continuation.resume(returning: body()) }
        }
    }
}

extension NATSMessage {
    /// Copies subject, reply subject and payload out of a libnats message (which the caller still owns).
    init(copying message: OpaquePointer) {
        let subject = natsMsg_GetSubject(message).map { String(cString: $0) } ?? ""
        let reply = natsMsg_GetReply(message).map { String(cString: $0) }
        let count = Int(natsMsg_GetDataLength(message))
        var payload: [UInt8] = []
        if count > 0, let data = natsMsg_GetData(message) {
            payload = data.withMemoryRebound(to: UInt8.self, capacity: count) {
                Array(UnsafeBufferPointer(start: $0, count: count))
            }
        }
        var headers: [String: String] = [:]
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var keyCount: Int32 = 0
        if natsMsgHeader_Keys(message, &keys, &keyCount) == NATS_OK, let keys {
            // The array is ours to free; the strings are libnats'.
            defer { free(keys) }
            for index in 0..<Int(keyCount) {
                guard let key = keys[index] else { continue }
                var value: UnsafePointer<CChar>?
                if natsMsgHeader_Get(message, key, &value) == NATS_OK, let value {
                    headers[String(cString: key)] = String(cString: value)
                }
            }
        }
        self.init(subject: subject, replyTo: reply, payload: payload, headers: headers)
    }
}
