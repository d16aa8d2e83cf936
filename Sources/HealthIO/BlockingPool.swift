import NIOPosix

/// The one home of blocking C calls (an NBD session, libatasmart, an ARP exchange, fsync): a fixed set of threads,
/// never the cooperative pool (which has one thread per core) and never a thread or queue per call.
///
/// - Important: Work here blocks a pool thread for as long as it runs: bound every call by a deadline, and check the
///   ``CancellationFlag`` handed in, which is raised when the calling task is cancelled.
public enum BlockingPool {
    /// Threads in the pool: enough for a burst of checks that each wait out a stalled peer, bounded all the same.
    public static let threadCount = 16

    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
        return pool
    }()

    /// Runs `body` on a pool thread and returns what it returns; cancelling the calling task raises the flag
    /// `body` is given (it is not interrupted otherwise).
    public static func run<T: Sendable>(_ body: @escaping @Sendable (CancellationFlag) -> T) async -> T {
        let flag = CancellationFlag()
        return await withTaskCancellationHandler {
            do {
                return try await pool.runIfActive { body(flag) }
            } catch {
                // The pool is never shut down, so it is always active; should it not be, the work still gets done.
                return body(flag)
            }
        } onCancel: {
            flag.raise()
        }
    }
}
