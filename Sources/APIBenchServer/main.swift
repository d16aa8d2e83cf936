import Foundation
import HealthAPI
import HealthCore
import Logging

// Serves DescribeInstanceStatus over COUNT made-up instances on 127.0.0.1:PORT until killed.
// Usage: APIBenchServer PORT [COUNT]
let arguments = CommandLine.arguments
guard arguments.count >= 2, let port = Int(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: APIBenchServer PORT [COUNT]\n".utf8))
    exit(2)
}
let count = arguments.count > 2 ? Int(arguments[2]) ?? 10_000 : 10_000
let zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
let views = (0..<count).map { index -> InstanceStatusView in
    let hex = String(index, radix: 16)
    let id = "i-" + String(repeating: "0", count: 17 - hex.count) + hex
    let impaired = index % 7 == 0
    let since = Date(timeIntervalSince1970: 1_795_000_000)
    return InstanceStatusView(
        health: InstanceHealth(
            instanceID: id, state: .running, availabilityZone: zones[index % 3],
            system: CategoryStatus(status: impaired ? .impaired : .ok, impairedSince: impaired ? since : nil),
            instance: CategoryStatus(status: .ok), ebs: CategoryStatus(status: index % 4 == 0 ? .notApplicable : .ok)))
}
var logger = Logger(label: "api-bench")
logger.logLevel = .warning
let handler = EC2QueryHandler(source: StaticStatusSource(views), logger: logger)
let server = try APIServer(
    listen: "127.0.0.1:\(port)", handler: handler, metricsText: { HealthMetrics().chunks() },
    onListening: { port in FileHandle.standardOutput.write(Data("listening \(port)\n".utf8)) }, logger: logger)
try await server.run()
