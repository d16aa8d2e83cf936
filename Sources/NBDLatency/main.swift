import Foundation
import HealthBlock
import Logging

// `NBDLatency URI [RUNS]`: RUNS (default 1000) sequential nbd.export sessions (handshake, 4 KiB read at offset 0,
// disconnect) against URI; prints one latency in seconds per line on stdout, then p50/p99 on stderr. Used by
// scripts/bench-nbd.sh.
let arguments = CommandLine.arguments
guard arguments.count >= 2, let address = try? NBDAddress(parsing: arguments[1]) else {
    FileHandle.standardError.write(Data("usage: NBDLatency NBD-URI [RUNS]\n".utf8))
    exit(2)
}
let runs = min(max(arguments.count > 2 ? Int(arguments[2]) ?? 1000 : 1000, 1), 100_000)
let logger = Logger(label: "nbd-latency", factory: { _ in SwiftLogNoOpLogHandler() })
var latencies: [Double] = []
latencies.reserveCapacity(runs)
var failures = 0
for _ in 0..<runs {
    let clock = ContinuousClock()
    let start = clock.now
    do {
        _ = try await NBDClient.readBlock(at: address, timeout: .seconds(5), logger: logger)
        let elapsed = clock.now - start
        latencies.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    } catch {
        failures += 1
        if failures == 1 { FileHandle.standardError.write(Data("first failure: \(error)\n".utf8)) }
    }
}
print(latencies.map { String(format: "%.6f", $0) }.joined(separator: "\n"))
let sorted = latencies.sorted()
if !sorted.isEmpty {
    let p50 = sorted[(sorted.count - 1) / 2]
    let p99 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
    let line = String(format: "runs %d failures %d p50 %.3f ms p99 %.3f ms\n", runs, failures, p50 * 1000, p99 * 1000)
    FileHandle.standardError.write(Data(line.utf8))
}
exit(failures == 0 ? 0 : 1)
