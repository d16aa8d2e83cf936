import Foundation
import HealthAPI
import HealthTestKit
import Logging
import Synchronization

/// Runs a client tool (python, aws) to completion with a deadline; killed by pid when it overruns.
struct Tool {
    struct Result {
        var status: Int32
        var output: String
    }

    /// The environment of the AWS clients: nothing of this machine's AWS setup leaks in.
    static func awsEnvironment(home: String, accessKey: String = "AKIDEXAMPLE", secret: String = "dummy-secret")
        -> [String: String]
    {
        let current = ProcessInfo.processInfo.environment
        var environment: [String: String] = [
            "PATH": current["PATH"] ?? "/usr/bin:/bin", "HOME": home,
            "AWS_CONFIG_FILE": home + "/aws-config", "AWS_SHARED_CREDENTIALS_FILE": home + "/aws-credentials",
            "AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard", "NO_PROXY": "*", "no_proxy": "*",
            "LANG": "C.UTF-8",
        ]
        // pyenv's shims find their Python through PYENV_ROOT, which defaults to $HOME/.pyenv.
        environment["PYENV_ROOT"] = current["PYENV_ROOT"] ?? ((current["HOME"] ?? "/root") + "/.pyenv")
        if let version = current["PYENV_VERSION"] { environment["PYENV_VERSION"] = version }
        return environment
    }

    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], log: String,
        timeout: Duration = .seconds(120)
    ) async throws -> Result {
        guard let path = executable.hasPrefix("/") ? executable : ChildProcess.which(executable) else {
            throw ToolMissing(name: executable)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let pid = process.processIdentifier
        let finished = await eventually(timeout: timeout, poll: .milliseconds(20)) { !process.isRunning }
        if !finished {
            kill(pid, SIGKILL)
        }
        process.waitUntilExit()
        try? handle?.close()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return Result(status: finished ? process.terminationStatus : -1, output: output)
    }
}

struct ToolMissing: Error, CustomStringConvertible {
    var name: String
    var description: String { "\(name) is not installed (scripts/test.sh installs it)" }
}

/// An API server on a free loopback port for one test, stopped at the end.
struct RunningAPI {
    let port: Int
    var endpoint: String { "http://127.0.0.1:\(port)" }

    static func with<T: Sendable>(
        handler: EC2QueryHandler, cloudWatch: CloudWatchHandler? = nil, feed: FleetFeed? = nil,
        metrics: HealthMetrics? = nil,
        _ body: @Sendable (RunningAPI) async throws -> T
    ) async throws -> T {
        let port = Mutex<Int?>(nil)
        let server = try APIServer(
            listen: "127.0.0.1:0", handler: handler, cloudWatch: cloudWatch, feed: feed,
            metricsText: { (metrics ?? HealthMetrics()).chunks() },
            onListening: { value in port.withLock { $0 = value } },
            logger: Logger(label: "api-test"))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await server.run()
                return nil
            }
            defer { group.cancelAll() }
            guard await eventually(timeout: .seconds(20), poll: .milliseconds(10), { port.withLock { $0 } != nil }),
                let bound = port.withLock({ $0 })
            else { throw ToolMissing(name: "the API server (did not start)") }
            let result = try await body(RunningAPI(port: bound))
            group.cancelAll()
            return result
        }
    }
}

let clientsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients")
    .path
