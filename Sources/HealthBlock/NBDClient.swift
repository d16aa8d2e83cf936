import HealthCore
import HealthIO
import Logging

/// What one read of an NBD export saw.
public struct NBDReadResult: Sendable, Hashable {
    /// The export's size in bytes (`NBD_INFO_EXPORT`).
    public var exportSize: UInt64
    /// The transmission flags (`NBD_FLAG_*`).
    public var transmissionFlags: UInt16
    /// The bytes read at offset 0 (0 for an empty export).
    public var bytesRead: Int
    /// Connect plus handshake, in seconds.
    public var handshakeSeconds: Double
    /// The read request until the last byte of its reply, in seconds.
    public var readSeconds: Double
    /// The whole session, disconnect included, in seconds.
    public var totalSeconds: Double
    /// Whether the server offered `NBD_OPT_GO` (false: the old `NBD_OPT_EXPORT_NAME` fallback was used).
    public var usedOptGo: Bool

    /// `NBD_FLAG_READ_ONLY`.
    public var isReadOnly: Bool { transmissionFlags & 0x0002 != 0 }
}

/// A read-only NBD client: fixed-newstyle handshake with `NBD_OPT_GO` (export info requested), one
/// `NBD_CMD_READ` at offset 0, then `NBD_CMD_DISC`. It never writes to the export.
///
/// Every step is bounded: one deadline for the whole session (connect, each handshake reply, the read), option
/// replies of at most 64 KiB and at most 32 of them, a read of at most 1 MiB. A server that is not there, refuses,
/// stalls, answers with an error or does not speak NBD is an ``NBDError`` whose
/// ``NBDError/isStoragePathBroken`` is true. The session runs on ``BlockingPool``, never blocking the cooperative
/// pool; cancelling the calling task ends it within ~50 ms.
public enum NBDClient {
    /// The largest read ``readBlock(at:length:timeout:logger:)`` accepts.
    public static let maxReadLength = 1 << 20

    /// Connects to `address`, negotiates, reads `length` bytes at offset 0 (less for a smaller export), disconnects.
    public static func readBlock(
        at address: NBDAddress, length: Int = 4096, timeout: Duration, logger: Logger
    ) async throws(NBDError) -> NBDReadResult {
        guard length > 0, length <= maxReadLength else {
            throw NBDError(.invalidRequest, "read length \(length) is outside 1...\(maxReadLength)")
        }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let result = await BlockingPool.run { flag in
            Result { () throws(NBDError) -> NBDReadResult in
                try NBDSession.run(address, length: length, deadline: deadline, cancellation: flag)
            }
        }
        switch result {
        case .success(let read):
            logger.trace(
                "NBD read", metadata: ["export": "\(address)", "seconds": "\(read.totalSeconds)"])
            return read
        case .failure(let error):
            logger.debug("NBD read failed", metadata: ["export": "\(address)", "error": "\(error)"])
            throw error
        }
    }
}

/// The protocol, run synchronously on one thread.
enum NBDSession {
    static let nbdMagic: UInt64 = 0x4e42_444d_4147_4943  // "NBDMAGIC"
    static let optionMagic: UInt64 = 0x4948_4156_454f_5054  // "IHAVEOPT"
    static let oldstyleMagic: UInt64 = 0x0000_4202_8186_1253
    static let optionReplyMagic: UInt64 = 0x0003_e889_0455_65a9
    static let requestMagic: UInt32 = 0x2560_9513
    static let simpleReplyMagic: UInt32 = 0x6744_6698
    static let structuredReplyMagic: UInt32 = 0x668e_33ef

    static let flagFixedNewstyle: UInt16 = 1
    static let flagNoZeroes: UInt16 = 2
    static let optExportName: UInt32 = 1
    static let optGo: UInt32 = 7
    static let replyAck: UInt32 = 1
    static let replyInfo: UInt32 = 3
    static let replyErrorBit: UInt32 = 1 << 31
    static let replyErrorUnsupported: UInt32 = replyErrorBit | 1
    static let infoExport: UInt16 = 0
    static let infoBlockSize: UInt16 = 3
    static let commandRead: UInt16 = 0
    static let commandDisconnect: UInt16 = 2

    static let maxOptionReplyBytes: UInt32 = 65536
    static let maxOptionReplies = 32

    static func run(
        _ address: NBDAddress, length: Int, deadline: ContinuousClock.Instant, cancellation: CancellationFlag
    ) throws(NBDError) -> NBDReadResult {
        let clock = ContinuousClock()
        let start = clock.now
        let socket = try NBDConnection.connect(address.endpoint, deadline: deadline, cancellation: cancellation)
        let (size, flags, minimumBlock, usedGo) = try handshake(socket, exportName: address.exportName)
        let handshakeDone = clock.now
        var wanted = UInt64(length)
        if let minimumBlock, minimumBlock > 1 {
            wanted = max(UInt64(minimumBlock), (wanted + UInt64(minimumBlock) - 1) / UInt64(minimumBlock)
                * UInt64(minimumBlock))
        }
        let count = Int(min(wanted, size, UInt64(NBDClient.maxReadLength)))
        if count > 0 { try read(socket, length: count) }
        let readDone = clock.now
        // Best effort: the server may already be gone, and NBD_CMD_DISC has no reply.
        try? socket.write(request(commandDisconnect, cookie: 2, offset: 0, length: 0), step: "disconnecting")
        return NBDReadResult(
            exportSize: size, transmissionFlags: flags, bytesRead: count,
            handshakeSeconds: (handshakeDone - start).seconds,
            readSeconds: (readDone - handshakeDone).seconds,
            totalSeconds: (clock.now - start).seconds, usedOptGo: usedGo)
    }

    /// Fixed newstyle negotiation; returns the export size, transmission flags and minimum block size.
    static func handshake(_ socket: borrowing NBDConnection, exportName: String) throws(NBDError)
        -> (UInt64, UInt16, UInt32?, Bool)
    {
        let greeting = try socket.read(exactly: 18, step: "waiting for the NBD greeting")
        guard greeting.uint64(at: 0) == nbdMagic else {
            throw NBDError(.protocolViolation, "\(socket.peer): not an NBD server (greeting \(greeting.hexPrefix(8)))")
        }
        let second = greeting.uint64(at: 8)
        if second == oldstyleMagic {
            throw NBDError(.protocolViolation, "\(socket.peer): an oldstyle NBD server (newstyle required)")
        }
        guard second == optionMagic else {
            throw NBDError(.protocolViolation, "\(socket.peer): bad NBD greeting (\(greeting.hexPrefix(16)))")
        }
        let serverFlags = greeting.uint16(at: 16)
        guard serverFlags & flagFixedNewstyle != 0 else {
            throw NBDError(.protocolViolation, "\(socket.peer): the server does not do fixed newstyle")
        }
        let noZeroes = serverFlags & flagNoZeroes != 0
        var clientFlags = Bytes()
        clientFlags.append32(UInt32(flagFixedNewstyle | (noZeroes ? flagNoZeroes : 0)))
        try socket.write(clientFlags.bytes, step: "sending the client flags")

        let name = Array(exportName.utf8)
        var go = Bytes()
        go.append64(optionMagic)
        go.append32(optGo)
        go.append32(UInt32(4 + name.count + 2 + 4))
        go.append32(UInt32(name.count))
        go.bytes += name
        go.append16(2)
        go.append16(infoExport)
        go.append16(infoBlockSize)
        try socket.write(go.bytes, step: "sending NBD_OPT_GO")

        var size: UInt64?
        var flags: UInt16 = 0
        var minimumBlock: UInt32?
        for _ in 0..<maxOptionReplies {
            let header = try socket.read(exactly: 20, step: "waiting for the reply to NBD_OPT_GO")
            guard header.uint64(at: 0) == optionReplyMagic else {
                throw NBDError(.protocolViolation, "\(socket.peer): bad option reply magic (\(header.hexPrefix(8)))")
            }
            let option = header.uint32(at: 8)
            let type = header.uint32(at: 12)
            let length = header.uint32(at: 16)
            guard option == optGo else {
                throw NBDError(.protocolViolation, "\(socket.peer): a reply to option \(option), not NBD_OPT_GO")
            }
            guard length <= maxOptionReplyBytes else {
                throw NBDError(.protocolViolation, "\(socket.peer): an option reply of \(length) bytes (over 64 KiB)")
            }
            let data = try socket.read(exactly: Int(length), step: "reading the reply to NBD_OPT_GO")
            switch type {
            case replyAck:
                guard let size else {
                    throw NBDError(.protocolViolation, "\(socket.peer): NBD_OPT_GO acknowledged without export info")
                }
                return (size, flags, minimumBlock, true)
            case replyInfo:
                guard data.count >= 2 else { continue }
                let info = data.uint16(at: 0)
                if info == infoExport, data.count >= 12 {
                    size = data.uint64(at: 2)
                    flags = data.uint16(at: 10)
                } else if info == infoBlockSize, data.count >= 14 {
                    minimumBlock = data.uint32(at: 2)
                }
            case replyErrorUnsupported:
                return try exportNameFallback(socket, name: name, noZeroes: noZeroes)
            case let error where error & replyErrorBit != 0:
                let text = String(decoding: data.prefix(200), as: UTF8.self)
                throw NBDError(
                    .optionRefused,
                    "\(socket.peer): export '\(exportName.prefix(100))' refused: \(optionErrorName(error))"
                        + (text.isEmpty ? "" : " (\(text))"))
            default:
                continue
            }
        }
        throw NBDError(.protocolViolation, "\(socket.peer): over \(maxOptionReplies) replies to NBD_OPT_GO")
    }

    /// `NBD_OPT_EXPORT_NAME`, for servers without `NBD_OPT_GO`: no reply header, the export info directly.
    static func exportNameFallback(_ socket: borrowing NBDConnection, name: [UInt8], noZeroes: Bool) throws(NBDError)
        -> (UInt64, UInt16, UInt32?, Bool)
    {
        var option = Bytes()
        option.append64(optionMagic)
        option.append32(optExportName)
        option.append32(UInt32(name.count))
        option.bytes += name
        try socket.write(option.bytes, step: "sending NBD_OPT_EXPORT_NAME")
        let info = try socket.read(exactly: noZeroes ? 10 : 134, step: "waiting for the export info")
        return (info.uint64(at: 0), info.uint16(at: 8), nil, false)
    }

    static func request(_ type: UInt16, cookie: UInt64, offset: UInt64, length: UInt32) -> [UInt8] {
        var bytes = Bytes()
        bytes.append32(requestMagic)
        bytes.append16(0)
        bytes.append16(type)
        bytes.append64(cookie)
        bytes.append64(offset)
        bytes.append32(length)
        return bytes.bytes
    }

    /// `NBD_CMD_READ` of `length` bytes at offset 0; a simple reply (structured replies are never negotiated).
    static func read(_ socket: borrowing NBDConnection, length: Int) throws(NBDError) {
        try socket.write(request(commandRead, cookie: 1, offset: 0, length: UInt32(length)), step: "sending the read")
        let reply = try socket.read(exactly: 16, step: "waiting for the read reply")
        let magic = reply.uint32(at: 0)
        guard magic == simpleReplyMagic else {
            throw NBDError(
                .protocolViolation,
                magic == structuredReplyMagic
                    ? "\(socket.peer): a structured reply that was not negotiated"
                    : "\(socket.peer): bad reply magic (\(reply.hexPrefix(4)))")
        }
        guard reply.uint64(at: 8) == 1 else {
            throw NBDError(.protocolViolation, "\(socket.peer): a reply to a request that was not sent")
        }
        let error = reply.uint32(at: 4)
        guard error == 0 else {
            throw NBDError(.errorReply, "\(socket.peer): the read at offset 0 failed: \(errnoName(error))")
        }
        _ = try socket.read(exactly: length, step: "reading the data (\(length) bytes)")
    }

    static func optionErrorName(_ code: UInt32) -> String {
        let names: [UInt32: String] = [
            1: "NBD_REP_ERR_UNSUP", 2: "NBD_REP_ERR_POLICY", 3: "NBD_REP_ERR_INVALID", 4: "NBD_REP_ERR_PLATFORM",
            5: "NBD_REP_ERR_TLS_REQD", 6: "NBD_REP_ERR_UNKNOWN (no such export)", 7: "NBD_REP_ERR_SHUTDOWN",
            8: "NBD_REP_ERR_BLOCK_SIZE_REQD", 9: "NBD_REP_ERR_TOO_BIG", 10: "NBD_REP_ERR_EXT_HEADER_REQD",
        ]
        return names[code & ~replyErrorBit] ?? "error \(code & ~replyErrorBit)"
    }

    /// NBD's error values are Linux errno numbers limited to this set.
    static func errnoName(_ code: UInt32) -> String {
        let names: [UInt32: String] = [
            1: "EPERM", 5: "EIO", 12: "ENOMEM", 22: "EINVAL", 28: "ENOSPC", 75: "EOVERFLOW", 95: "ENOTSUP",
            108: "ESHUTDOWN",
        ]
        return names[code].map { "\($0) (error \(code))" } ?? "error \(code)"
    }
}

/// Big-endian encoding for requests.
struct Bytes {
    var bytes: [UInt8] = []
    mutating func append16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xff)] }
    mutating func append32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xff)) }
    }
    mutating func append64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xff)) }
    }
}

extension [UInt8] {
    func uint16(at offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }
    func uint32(at offset: Int) -> UInt32 { (0..<4).reduce(0) { $0 << 8 | UInt32(self[offset + $1]) } }
    func uint64(at offset: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(self[offset + $1]) } }
    func hexPrefix(_ count: Int) -> String { prefix(count).map { String($0, radix: 16) }.joined(separator: " ") }
}
