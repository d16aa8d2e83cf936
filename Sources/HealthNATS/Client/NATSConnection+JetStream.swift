import CNATS
import Foundation

/// A JetStream stream to create (or update) with ``NATSConnection/ensureStream(_:)``.
public struct JetStreamStreamConfiguration: Sendable, Hashable {
    public var name: String
    public var subjects: [String]
    /// Messages with the same `Nats-Msg-Id` inside this window are stored once.
    public var duplicateWindow: Duration = .seconds(120)
    public var maxMessages: Int64 = 1_000_000
    public var maxAge: Duration = .seconds(7 * 24 * 3600)
    /// File storage survives a server restart; memory storage does not.
    public var fileStorage = true
    /// Copies kept by a NATS cluster; nil takes the connection's ``NATSConfiguration/replicas``.
    public var replicas: Int?

    public init(name: String, subjects: [String]) {
        self.name = name
        self.subjects = subjects
    }
}

/// The server's acknowledgement of a JetStream publish.
public struct JetStreamAck: Sendable, Hashable {
    public var stream: String
    public var sequence: UInt64
    /// The server had already stored a message with this `Nats-Msg-Id` (inside the duplicate window).
    public var duplicate: Bool
}

extension NATSConnection {
    /// Creates the stream, or updates it when it exists with another configuration.
    public func ensureStream(_ configuration: JetStreamStreamConfiguration) async throws(NATSError) {
        let handles = self.handles
        let replicas = configuration.replicas ?? self.configuration.replicas
        var resolved = configuration
        resolved.replicas = replicas
        let stream = resolved
        let status = await Self.blocking { () -> Result<Int?, NATSError> in
            Result { () throws(NATSError) in try Self.addOrUpdateStream(stream, jetStream: handles.jetStream) }
        }
        if let existing = try status.get(), existing != replicas {
            let name = configuration.name
            logger.warning(
                """
                NATS: stream \(name) has \(existing) replica(s), not the \(replicas) configured; kept as it is \
                (change it with `nats stream edit \(name) --replicas \(replicas)`)
                """)
        }
    }

    /// Adds the stream, or updates an existing one keeping its replicas; returns those replicas when it existed.
    private static func addOrUpdateStream(
        _ configuration: JetStreamStreamConfiguration, jetStream: OpaquePointer
    ) throws(NATSError) -> Int? {
        let subjects = configuration.subjects.map { strdup($0) }
        defer { subjects.forEach { free($0) } }
        let name = strdup(configuration.name)
        defer { free(name) }
        var pointers: [UnsafePointer<CChar>?] = subjects.map { $0.map { UnsafePointer($0) } }
        var existingReplicas: Int?
        let status = pointers.withUnsafeMutableBufferPointer { subjectList -> (natsStatus, jsErrCode) in
            var config = jsStreamConfig()
            jsStreamConfig_Init(&config)
            config.Name = UnsafePointer(name)
            config.Subjects = subjectList.baseAddress
            config.SubjectsLen = Int32(subjectList.count)
            config.Duplicates = configuration.duplicateWindow.milliseconds * 1_000_000
            config.MaxMsgs = configuration.maxMessages
            config.MaxAge = configuration.maxAge.milliseconds * 1_000_000
            config.Storage = configuration.fileStorage ? js_FileStorage : js_MemoryStorage
            config.Replicas = Int64(configuration.replicas ?? 1)
            var errorCode = jsErrCode(rawValue: 0)
            // An existing stream keeps its replicas: scaling is the operator's decision, never a side effect.
            var current: UnsafeMutablePointer<jsStreamInfo>?
            var infoError = jsErrCode(rawValue: 0)
            if js_GetStreamInfo(&current, jetStream, name, nil, &infoError) == NATS_OK, let current {
                if let existing = current.pointee.Config {
                    existingReplicas = Int(existing.pointee.Replicas)
                    config.Replicas = existing.pointee.Replicas
                }
                jsStreamInfo_Destroy(current)
            }
            var status: natsStatus
            if existingReplicas == nil {
                var info: UnsafeMutablePointer<jsStreamInfo>?
                status = js_AddStream(&info, jetStream, &config, nil, &errorCode)
                if let info { jsStreamInfo_Destroy(info) }
            } else {
                status = NATS_ERR
                errorCode = JSStreamNameExistErr
            }
            if status != NATS_OK, errorCode == JSStreamNameExistErr {
                var updated: UnsafeMutablePointer<jsStreamInfo>?
                status = js_UpdateStream(&updated, jetStream, &config, nil, &errorCode)
                if let updated { jsStreamInfo_Destroy(updated) }
            }
            return (status, errorCode)
        }
        try NATSError.check(status.0, "stream \(configuration.name) (JetStream error \(status.1.rawValue))")
        return existingReplicas
    }

    /// Publishes to a JetStream stream and waits for the server's acknowledgement. `messageID` becomes the
    /// `Nats-Msg-Id` header, so a repeat inside the stream's duplicate window is stored once
    /// (``JetStreamAck/duplicate``).
    public func publishJetStream(
        _ subject: String, payload: [UInt8], messageID: String?
    ) async throws(NATSError) -> JetStreamAck {
        let handles = self.handles
        let wait = configuration.jetStreamTimeout.milliseconds
        let result = await Self.blocking { () -> Result<JetStreamAck, NATSError> in
            var message: OpaquePointer?
            let created = payload.withUnsafeBytes { bytes in
                natsMsg_Create(&message, subject, nil, bytes.baseAddress, Int32(clamping: bytes.count))
            }
            guard created == NATS_OK, let message else { return .failure(.from(created, "message \(subject)")) }
            defer { natsMsg_Destroy(message) }
            var ack: UnsafeMutablePointer<jsPubAck>?
            var errorCode = jsErrCode(rawValue: 0)
            let status = (messageID ?? "").withCString { id -> natsStatus in
                var options = jsPubOptions()
                jsPubOptions_Init(&options)
                options.MaxWait = wait
                if messageID != nil { options.MsgId = id }
                return js_PublishMsg(&ack, handles.jetStream, message, &options, &errorCode)
            }
            guard status == NATS_OK, let ack else {
                return .failure(.from(status, "publish \(subject) (JetStream error \(errorCode.rawValue))"))
            }
            defer { jsPubAck_Destroy(ack) }
            let stream = ack.pointee.Stream.map { String(cString: $0) } ?? ""
            return .success(
                JetStreamAck(stream: stream, sequence: ack.pointee.Sequence, duplicate: ack.pointee.Duplicate))
        }
        return try result.get()
    }
}

extension NATSConnection {
    /// How many messages the stream holds now.
    public func streamMessageCount(_ stream: String) async throws(NATSError) -> UInt64 {
        let handles = self.handles
        let result = await Self.blocking { () -> Result<UInt64, NATSError> in
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var errorCode = jsErrCode(rawValue: 0)
            let status = js_GetStreamInfo(&info, handles.jetStream, stream, nil, &errorCode)
            guard status == NATS_OK, let info else { return .failure(.from(status, "stream info \(stream)")) }
            defer { jsStreamInfo_Destroy(info) }
            return .success(info.pointee.State.Msgs)
        }
        return try result.get()
    }
}

extension NATSConnection {
    /// Every message the stream holds now, oldest first (at most `limit`; deleted sequences are skipped). For tests
    /// and tools that count what a stream kept; each message is one request to the server.
    public func streamMessages(_ stream: String, limit: Int = 100_000) async throws(NATSError) -> [NATSMessage] {
        let handles = self.handles
        let wait = configuration.jetStreamTimeout.milliseconds
        let result = await Self.blocking { () -> Result<[NATSMessage], NATSError> in
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var errorCode = jsErrCode(rawValue: 0)
            let status = js_GetStreamInfo(&info, handles.jetStream, stream, nil, &errorCode)
            guard status == NATS_OK, let info else { return .failure(.from(status, "stream info \(stream)")) }
            let (first, last) = (info.pointee.State.FirstSeq, info.pointee.State.LastSeq)
            jsStreamInfo_Destroy(info)
            var messages: [NATSMessage] = []
            guard last >= first, first > 0 else { return .success([]) }
            var options = jsOptions()
            jsOptions_Init(&options)
            options.Wait = wait
            for sequence in first...last where messages.count < limit {
                var message: OpaquePointer?
                let got = js_GetMsg(&message, handles.jetStream, stream, sequence, &options, &errorCode)
                if got == NATS_NOT_FOUND { continue }
                guard got == NATS_OK, let message else {
                    return .failure(.from(got, "stream \(stream) message \(sequence)"))
                }
                messages.append(NATSMessage(copying: message))
                natsMsg_Destroy(message)
            }
            return .success(messages)
        }
        return try result.get()
    }
}
