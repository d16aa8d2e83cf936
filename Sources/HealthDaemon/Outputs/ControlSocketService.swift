import Foundation
import HealthCore
import HealthIO
import Logging
import ServiceLifecycle

/// Serves ``ControlSocket`` at `<state-dir>/hive-health.sock` while the daemon runs: `hive-health status` asks it for
/// the evaluator's current report instead of reading the store, which may be behind.
///
/// A stale socket file (a daemon that crashed) is replaced at start; a socket another process answers on, or a path
/// that is no socket, is left alone and the daemon runs without a control socket (logged). The file is removed on a
/// clean exit. Each client is served on a ``BlockingPool`` thread, at most ``maxClients`` at a time, each bounded by
/// ``ControlSocket/requestTimeout`` and ``ControlSocket/answerTimeout``: a silent or slow client holds only its own
/// connection.
struct ControlSocketService: Service {
    let daemon: HealthDaemon
    /// Clients served at once; more wait in the listen backlog.
    static let maxClients = 4

    func run() async throws {
        let path = ControlSocket.path(stateDirectory: daemon.setup.stateDirectory)
        let listener: UnixListener
        do {
            listener = try Self.listen(at: path)
        } catch {
            daemon.logger.error("control socket not served: \(error); `hive-health status` reads the state store")
            // A service that returns early would stop the whole group: without the socket the daemon goes on.
            try? await gracefulShutdown()
            return
        }
        daemon.logger.debug("control socket listening", metadata: ["path": "\(path)"])
        defer {
            listener.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                // Clients started and not yet reaped: at the limit, wait for one to finish.
                var busy = 0
                while !Task.isCancelled {
                    if busy >= Self.maxClients {
                        await group.next()
                        busy -= 1
                        continue
                    }
                    // Short waits, so a graceful shutdown is seen within a quarter of a second.
                    let next = await BlockingPool.run { _ in
                        Result { () throws(IOError) in try listener.accept(timeout: .milliseconds(250)) }
                    }
                    switch next {
                    case .success(let client?):
                        busy += 1
                        group.addTask { await BlockingPool.run { flag in serve(client, cancellation: flag) } }
                    case .success(nil):
                        continue
                    case .failure(let error):
                        daemon.logger.warning("control socket: \(error)")
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
        }
    }

    /// Binds `path`, replacing a stale socket file; refuses to replace anything else.
    static func listen(at path: String) throws -> UnixListener {
        let files = FileManager.default
        try files.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        if let type = (try? files.attributesOfItem(atPath: path))?[.type] as? FileAttributeType {
            guard type == .typeSocket else {
                throw ControlSocketError(.failed, "\(path) exists and is not a socket: not replaced")
            }
            guard StreamSocket.probe(unixPath: path) != nil else {
                throw ControlSocketError(
                    .failed, "another process answers on \(path) (a second daemon on the same state directory?)")
            }
            try files.removeItem(atPath: path)
        }
        return try UnixListener(path: path, permissions: 0o600)
    }

    /// Reads one request line and answers it, then closes the connection.
    private func serve(_ client: StreamSocket, cancellation: CancellationFlag) {
        defer { client.close() }
        var received: [UInt8] = []
        let answer: [UInt8]
        do throws(IOError) {
            let end = try ControlSocket.readLine(
                client, into: &received, limit: ControlSocket.maxRequestBytes,
                deadline: .now.advanced(by: ControlSocket.requestTimeout), cancellation: cancellation)
            var request = String(decoding: received[..<end], as: UTF8.self)
            if request.hasSuffix("\r") { request.removeLast() }
            answer = self.answer(to: request)
        } catch where error.code == .frameTooLong {
            answer = Self.error("request longer than \(ControlSocket.maxRequestBytes) bytes")
        } catch where error.code == .timeout {
            answer = Self.error("no request line within \(ControlSocket.requestTimeout)")
        } catch {
            return  // The client hung up or the daemon is stopping: nobody to answer.
        }
        do {
            try client.write(
                answer, deadline: .now.advanced(by: ControlSocket.answerTimeout), cancellation: cancellation,
                step: "answering")
        } catch {
            daemon.logger.debug("control socket: answer not delivered: \(error)")
        }
    }

    private func answer(to request: String) -> [UInt8] {
        guard request == ControlSocket.statusRequest else {
            let shown = request.unicodeScalars.prefix(40).map { $0.isASCII && $0.value >= 32 ? String($0) : "?" }
            return Self.error("unknown request '\(shown.joined())' (known: \(ControlSocket.statusRequest))")
        }
        do {
            let report = try JSONEncoder.healthMessages.encode(daemon.evaluator.report())
            return Array("ok \(getpid())\n".utf8) + Array(report) + [UInt8(ascii: "\n")]
        } catch {
            return Self.error("the report cannot be encoded: \(error)")
        }
    }

    private static func error(_ text: String) -> [UInt8] {
        Array("error \(text)\n".utf8)
    }
}
