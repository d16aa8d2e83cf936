import HealthIO

/// An NBD session's ``StreamSocket``: every read and write bounded by the session's one deadline and cut short when
/// its ``CancellationFlag`` is raised, every failure an ``NBDError``. Used on a thread of ``BlockingPool``.
struct NBDConnection: ~Copyable {
    let socket: StreamSocket
    let deadline: ContinuousClock.Instant
    let cancellation: CancellationFlag
    /// For messages: where the socket goes.
    var peer: String { socket.peer }

    deinit { socket.close() }

    /// Connects to `endpoint` before `deadline`.
    static func connect(
        _ endpoint: NBDAddress.Endpoint, deadline: ContinuousClock.Instant, cancellation: CancellationFlag
    ) throws(NBDError) -> NBDConnection {
        do throws(IOError) {
            let socket =
                switch endpoint {
                case .unix(let path): try StreamSocket.connect(unixPath: path)
                case .tcp(let host, let port):
                    try StreamSocket.connect(host: host, port: port, deadline: deadline, cancellation: cancellation)
                }
            return NBDConnection(socket: socket, deadline: deadline, cancellation: cancellation)
        } catch {
            throw NBDError(error)
        }
    }

    /// Reads exactly `count` bytes (the caller bounds `count`).
    func read(exactly count: Int, step: String) throws(NBDError) -> [UInt8] {
        do throws(IOError) {
            return try socket.read(exactly: count, deadline: deadline, cancellation: cancellation, step: step)
        } catch {
            throw NBDError(error)
        }
    }

    /// Writes all of `bytes`; a peer that never reads is a stall.
    func write(_ bytes: [UInt8], step: String) throws(NBDError) {
        do throws(IOError) {
            try socket.write(bytes, deadline: deadline, cancellation: cancellation, step: step)
        } catch {
            throw NBDError(error)
        }
    }
}

extension NBDError {
    /// The socket layer's error in NBD's terms.
    init(_ error: IOError) {
        let code: Code =
            switch error.code {
            case .missing, .notSocket, .unreachable: .noServer
            case .refused: .refused
            case .timeout: .stalled
            case .closed: .closed
            case .cancelled: .cancelled
            case .invalid: .invalidURI
            default: .system
            }
        self.init(code, error.message)
    }
}
