import Foundation
import HealthTestKit
import Testing

/// Runs `NATSLoopCheck` (publish, subscribe, request, JetStream, KV create/get/put/delete/watch) built with
/// AddressSanitizer (scripts/test.sh builds it into `.build-asan`): LeakSanitizer fails the run on any leaked
/// allocation, so every libnats handle the Swift layer creates is freed. (valgrind 3.19 crashes on Swift's
/// libdispatch, so AddressSanitizer it is.)
@Suite("No leaks in the NATS layer", .serialized)
struct LeakCheckTests {
    static var binary: String {
        if let explicit = ProcessInfo.processInfo.environment["NATS_LOOP_CHECK_ASAN"] { return explicit }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appending(path: ".build-asan/debug/NATSLoopCheck").path
    }

    /// Runs the loop on a thread of its own: it takes seconds, and the cooperative pool is needed by other tests.
    func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await offCooperativePool { try Self.runBlocking(arguments) }
        return (result.0, result.1)
    }

    static func runBlocking(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["ASAN_OPTIONS"] = "detect_leaks=1"
        process.environment = environment
        let output = FileManager.default.temporaryDirectory.appending(path: "leak-check-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    @Test("a publish/subscribe/JetStream/KV loop under AddressSanitizer leaks nothing")
    func loopLeaksNothing() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("\(Self.binary) missing: scripts/test.sh builds it with --sanitize=address")
            }
            return
        }
        let server = try NATSServerProcess()
        defer { server.stop() }
        let clean = try await run([server.url, "40"])
        #expect(clean.status == 0, "\(clean.output.suffix(4000))")
        #expect(clean.output.contains("ok"))
        // The detector is really watching: one leaked message fails the run.
        let leaky = try await run([server.url, "2", "leak"])
        #expect(leaky.status != 0)
        #expect(leaky.output.contains("LeakSanitizer"))
    }
}
