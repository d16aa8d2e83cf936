import Foundation
import HealthCore
import HealthIO

/// Why a running daemon's control socket gave no live status.
public typealias ControlSocketError = CodedError<ControlSocketErrors>

/// The domain of ``ControlSocketError``: its messages say what went wrong.
public enum ControlSocketErrors: ErrorDomain {
    public static var describesCode: Bool { false }
}

extension CodedError.Code where Domain == ControlSocketErrors {
    /// No socket file: no daemon runs with this state directory (or one older than the control socket).
    public static var absent: Self { Self("absent") }
    /// A socket file nobody listens on: a daemon that crashed, or one that is stopping.
    public static var notListening: Self { Self("not listening") }
    /// No answer before the deadline.
    public static var timeout: Self { Self("timeout") }
    /// The peer answered with an error line.
    public static var rejected: Self { Self("rejected") }
    /// The peer answered something that is not the protocol (a foreign program on the path, a truncated answer).
    public static var malformed: Self { Self("malformed") }
    /// Any other socket failure.
    public static var failed: Self { Self("failed") }
}

/// The daemon's local control socket, `<state-dir>/hive-health.sock` (mode 0600): one request line, one answer, then
/// the daemon closes the connection.
///
/// - `status\n` is answered with `ok <pid>\n` and then the JSON of the daemon's current ``HealthReport`` (the coders
///   of the state store, ``JSONEncoder/healthMessages``).
/// - Anything else, a request longer than ``maxRequestBytes`` or none within ``requestTimeout``, with one line
///   `error <why>\n`.
///
/// ``ControlSocketService`` serves it; ``ask(path:timeout:)`` is the client `hive-health status` uses (through
/// ``DaemonAccess``).
public enum ControlSocket {
    /// The socket's name in the daemon's state directory.
    public static let fileName = "hive-health.sock"
    /// The one request there is.
    public static let statusRequest = "status"
    /// The longest request line accepted, newline included.
    public static let maxRequestBytes = 256
    /// How long a client has to send its request line.
    public static let requestTimeout: Duration = .seconds(1)
    /// How long a client has to take the answer (a client that stops reading loses it).
    public static let answerTimeout: Duration = .seconds(10)
    /// The longest answer a client reads (the report of a very large node, with room to spare).
    static let maxAnswerBytes = 512 * 1024 * 1024
    /// Once the `ok` line came, how long the report may take to arrive (a large node's report is tens of MB).
    static let reportTimeout: Duration = .seconds(30)

    /// The socket of the daemon whose state directory is `stateDirectory`.
    public static func path(stateDirectory: String) -> String { stateDirectory + "/" + fileName }

    /// What a running daemon answered to `status`.
    public struct LiveStatus: Sendable {
        /// The daemon's process id, as it said.
        public var pid: Int32
        public var report: HealthReport
    }

    /// Asks the daemon listening on `path` for its current report. `timeout` bounds the connection and the wait for
    /// the first answer line (a silent peer costs no more); the report itself then has ``reportTimeout``.
    public static func ask(path: String, timeout: Duration = .seconds(2)) async throws(ControlSocketError)
        -> LiveStatus
    {
        let outcome = await BlockingPool.run { flag in
            Result { () throws(ControlSocketError) in
                try askBlocking(path: path, timeout: timeout, cancellation: flag)
            }
        }
        return try outcome.get()
    }

    private static func askBlocking(
        path: String, timeout: Duration, cancellation: CancellationFlag
    ) throws(ControlSocketError) -> LiveStatus {
        let start = ContinuousClock.now
        let socket: StreamSocket
        do throws(IOError) {
            socket = try StreamSocket.connect(unixPath: path)
        } catch {
            switch error.code {
            case .missing: throw ControlSocketError(.absent, "no control socket at \(path)")
            case .refused: throw ControlSocketError(.notListening, "nobody listens on \(path) (a stale socket)")
            default: throw failure(error)
            }
        }
        defer { socket.close() }
        var received: [UInt8] = []
        let headerEnd: Int
        do throws(IOError) {
            let deadline = start.advanced(by: timeout)
            try socket.write(
                Array((statusRequest + "\n").utf8), deadline: deadline, cancellation: cancellation,
                step: "sending the request")
            headerEnd = try readLine(
                socket, into: &received, limit: maxRequestBytes, deadline: deadline, cancellation: cancellation)
        } catch {
            throw failure(error)
        }
        let header = String(decoding: received[..<headerEnd], as: UTF8.self)
        if header.hasPrefix("error ") {
            throw ControlSocketError(.rejected, "\(path): the daemon refused: \(header.dropFirst(6))")
        }
        let words = header.split(separator: " ")
        guard words.count == 2, words[0] == "ok", let pid = Int32(words[1]), pid > 0 else {
            throw ControlSocketError(.malformed, "\(path): not a hive-health answer: '\(header.prefix(80))'")
        }
        do throws(IOError) {
            try readToEnd(
                socket, into: &received, limit: maxAnswerBytes, deadline: .now.advanced(by: reportTimeout),
                cancellation: cancellation)
        } catch {
            throw failure(error)
        }
        do {
            let body = Data(received[(headerEnd + 1)...])
            let report = try JSONDecoder.healthMessages.decode(HealthReport.self, from: body)
            return LiveStatus(pid: pid, report: report)
        } catch {
            throw ControlSocketError(.malformed, "\(path): the daemon's report is not readable: \(error)")
        }
    }

    private static func failure(_ error: IOError) -> ControlSocketError {
        switch error.code {
        case .timeout: ControlSocketError(.timeout, error.message)
        case .frameTooLong, .protocolViolation, .tooLarge: ControlSocketError(.malformed, error.message)
        default: ControlSocketError(.failed, error.message)
        }
    }

    /// Reads into `buffer` until it holds a newline; the newline's index. A line over `limit` is
    /// ``IOError/Code/frameTooLong``, a peer that closes first ``IOError/Code/closed``.
    static func readLine(
        _ socket: StreamSocket, into buffer: inout [UInt8], limit: Int, deadline: ContinuousClock.Instant,
        cancellation: CancellationFlag?
    ) throws(IOError) -> Int {
        while true {
            if let end = buffer.firstIndex(of: UInt8(ascii: "\n")), end < limit { return end }
            guard buffer.count < limit else {
                throw IOError(.frameTooLong, "\(socket.peer): a line longer than \(limit) bytes")
            }
            let chunk = try socket.read(
                upTo: limit - buffer.count, deadline: deadline, cancellation: cancellation, step: "reading a line")
            guard !chunk.isEmpty else {
                throw IOError(.closed, "\(socket.peer): the peer hung up before a whole line")
            }
            buffer += chunk
        }
    }

    /// Reads into `buffer` until the peer closes, at most `limit` bytes in all.
    private static func readToEnd(
        _ socket: StreamSocket, into buffer: inout [UInt8], limit: Int, deadline: ContinuousClock.Instant,
        cancellation: CancellationFlag
    ) throws(IOError) {
        while true {
            guard buffer.count <= limit else {
                throw IOError(.tooLarge, "\(socket.peer): an answer longer than \(limit) bytes")
            }
            let chunk = try socket.read(
                upTo: 1 << 20, deadline: deadline, cancellation: cancellation, step: "reading the report")
            if chunk.isEmpty { return }
            buffer += chunk
        }
    }
}
