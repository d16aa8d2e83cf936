import CNetworkShim
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Running a little code inside a named network namespace (`ip netns add NAME`, `/var/run/netns/NAME`).
///
/// A socket belongs to the namespace it was created in for its whole life, so the clients create their sockets
/// through ``run(in:_:)`` on a short-lived thread of its own that enters the namespace and ends; no other thread
/// changes namespace. Used by tests (each builds its own namespaces) and by checks with a `netns` parameter.
public enum NetworkNamespace {
    /// Runs `body` on a fresh thread inside namespace `name` (or in the caller's namespace when `name` is nil or
    /// empty) and returns what it returns. Blocks the caller until `body` is done: keep `body` short.
    public static func run<T: Sendable>(
        in name: String?, _ body: @escaping @Sendable () throws(NetworkError) -> T
    ) throws(NetworkError) -> T {
        guard let name, !name.isEmpty else { return try body() }
        guard !name.contains("/"), name != ".", name != ".." else {
            throw NetworkError(.invalid, "network namespace name '\(name)' is not a plain name")
        }
        let path = "/var/run/netns/" + name
        let result = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let reason = String(cString: strerror(errno))
                result.set(.failure(NetworkError(.invalid, "network namespace \(name): \(reason)")))
                return
            }
            defer { close(fd) }
            // setns applies to this thread only, which ends with the body.
            guard hive_health_enter_network_namespace(fd) == 0 else {
                let reason = String(cString: strerror(errno))
                result.set(.failure(NetworkError(.permission, "setns \(name): \(reason)")))
                return
            }
            let outcome: Result<T, NetworkError>
            do throws(NetworkError) {
                outcome = .success(try body())
            } catch {
                outcome = .failure(error)
            }
            result.set(outcome)
        }
        thread.start()
        done.wait()
        guard let outcome = result.get() else { throw NetworkError(.system, "namespace thread ended without a result") }
        return try outcome.get()
    }
}

/// A value handed from one thread to another.
final class ResultBox<T: Sendable>: Sendable {
    private let value = Mutex<Result<T, NetworkError>?>(nil)
    func set(_ result: Result<T, NetworkError>) { value.withLock { $0 = result } }
    func get() -> Result<T, NetworkError>? { value.withLock { $0 } }
}
