import Foundation
import HealthQEMU
import Logging
import Synchronization

/// A stand-in for Spinifex's `spinifex-qmp-collector` (spinifex/services/qmpcollector at ddf22cac): every `interval`
/// it opens each VM's telemetry monitor `qmp-telemetry-<id>.sock` (never the control monitor), asks it, and closes
/// it. It records how long each open waited for QEMU's greeting: QEMU serves one client per monitor, so a wait is
/// time another client (hive-health) held the monitor. Spinifex polls every 60 or 300 s; tests use seconds.
public final class SpinifexQMPCollector: Sendable {
    private struct State {
        var sockets: Set<String> = []
        var waits: [Duration] = []
        var failures = 0
    }

    public let interval: Duration
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Starts polling at once.
    public init(interval: Duration = .seconds(2), logger: Logger = Logger(label: "spinifex-qmp-collector")) {
        self.interval = interval
        // The loop ends with stop() (cancel), which releases its reference to the collector.
        let loop = Task { [self] in
            while !Task.isCancelled {
                for socket in state.withLock({ $0.sockets }).sorted() {
                    let clock = ContinuousClock()
                    let start = clock.now
                    do throws(QEMUError) {
                        let connection = try await QMPConnection.connect(
                            path: socket, timeout: .seconds(10), logger: logger)
                        let waited = clock.now - start
                        _ = try? await connection.execute("query-status", timeout: .seconds(5))
                        connection.close()
                        state.withLock { $0.waits.append(waited) }
                    } catch {
                        // QEMU down (killed in a test): nothing to wait for, not a wait.
                        state.withLock { $0.failures += 1 }
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
        task.withLock { $0 = loop }
    }

    /// Polls `socket` (a telemetry monitor) from now on.
    public func add(_ socket: String) { state.withLock { _ = $0.sockets.insert(socket) } }

    /// The waits of every successful open so far.
    public var waits: [Duration] { state.withLock { $0.waits } }

    /// The longest wait so far (zero before the first open).
    public var longestWait: Duration { state.withLock { $0.waits.max() ?? .zero } }

    public func stop() { task.withLock { $0?.cancel() } }
}
