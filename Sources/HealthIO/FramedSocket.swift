import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A ``StreamSocket`` read as frames arrive, without tying up a thread of the cooperative pool: a
/// `DispatchSourceRead` on a private serial queue reads what is there, cuts it with a ``FrameDecoder`` (lines, JSON
/// texts) and hands every frame to the handler on that queue. A peer that breaks the framing (a frame over the
/// bound) closes the socket.
///
/// Writes and timers run on the same queue, so a write never goes to a descriptor the queue has closed.
public final class FramedSocket: Sendable {
    /// What the socket reports to its owner, in order, on its queue.
    public enum Event: Sendable {
        case frame([UInt8])
        /// The socket is closed (by the peer, an error, or ``close(_:)``); no event follows.
        case closed(IOError)
    }

    private struct State {
        var open = true
        var framer: any FrameDecoder
        var handler: (@Sendable (Event) -> Void)?
    }

    /// Where the socket goes (for messages).
    public var peer: String { socket.peer }
    private let socket: StreamSocket
    private let queue: DispatchQueue
    private let state: Mutex<State>
    // Dispatch sources are thread-safe: resume, cancel and the handlers may be used from any thread.
    private nonisolated(unsafe) let source: any DispatchSourceRead

    /// Starts reading `socket` (which this now owns), cut by `framer`.
    public init(_ socket: StreamSocket, framer: some FrameDecoder, handler: @escaping @Sendable (Event) -> Void) {
        self.socket = socket
        self.queue = DispatchQueue(label: "hive-health.socket")
        self.state = Mutex(State(framer: framer, handler: handler))
        self.source = DispatchSource.makeReadSource(fileDescriptor: socket.descriptor, queue: queue)
        source.setEventHandler { [weak self] in self?.readAvailable() }
        source.setCancelHandler { socket.close() }
        source.resume()
    }

    /// Connects to the unix socket at `path` and starts reading it.
    public convenience init(
        unixPath path: String, framer: some FrameDecoder, handler: @escaping @Sendable (Event) -> Void
    ) throws(IOError) {
        self.init(try StreamSocket.connect(unixPath: path), framer: framer, handler: handler)
    }

    deinit {
        // An owner that forgot to close: cancelling the source closes the descriptor.
        if !source.isCancelled { source.cancel() }
    }

    /// Whether the socket is still open.
    public var isOpen: Bool { state.withLock { $0.open } }

    /// Closes the socket; the handler sees `.closed(error)` unless it is closed already.
    public func close(_ error: IOError) {
        queue.async { self.finish(error) }
    }

    /// Writes `bytes` on the socket's queue, waiting for room at most `timeout`, then calls `completion` (nil on
    /// success). A peer that never reads makes this fail, not hang; a failed write leaves the socket open.
    public func send(_ bytes: [UInt8], timeout: Duration, completion: @escaping @Sendable (IOError?) -> Void) {
        queue.async {
            // Checked on the queue, where the cancel handler closes the descriptor: never a write to a reused number.
            guard self.isOpen else {
                completion(IOError(.closed, "\(self.peer): the connection is closed"))
                return
            }
            do throws(IOError) {
                try self.socket.write(bytes, deadline: .now.advanced(by: timeout), step: "writing")
                completion(nil)
            } catch {
                completion(error)
            }
        }
    }

    /// Runs `work` on the socket's queue after `delay` (the owner's timeouts, ordered with the frames).
    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) {
        let milliseconds = Int(clamping: max(0, delay.wholeMilliseconds))
        queue.asyncAfter(deadline: .now() + .milliseconds(milliseconds), execute: work)
    }

    /// Called on `queue` when the descriptor is readable: reads a bounded amount, then yields to other sockets.
    private func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<16 {
            guard isOpen else { return }
            let count: Int?
            do throws(IOError) {
                count = try socket.readAvailable(into: &chunk)
            } catch {
                finish(error)
                return
            }
            guard let count else { return }
            if count == 0 {
                finish(IOError(.closed, "\(peer): the peer closed the connection"))
                return
            }
            var frames: [[UInt8]] = []
            let failure = state.withLock { state -> IOError? in
                do throws(IOError) {
                    try state.framer.decode(chunk[0..<count], into: &frames)
                    return nil
                } catch {
                    return error
                }
            }
            let handler = state.withLock { $0.handler }
            for frame in frames { handler?(.frame(frame)) }
            if let failure {
                finish(IOError(failure.code, "\(peer): the peer sent \(failure.message)"))
                return
            }
        }
    }

    /// Closes on `queue`; reports `error` to the handler once.
    private func finish(_ error: IOError) {
        let handler = state.withLock { state -> (@Sendable (Event) -> Void)? in
            guard state.open else { return nil }
            state.open = false
            defer { state.handler = nil }
            return state.handler
        }
        guard let handler else { return }
        source.cancel()
        handler(.closed(error))
    }
}
