import Foundation
import HealthCore
import HealthProbes
import Testing

/// A fixed set of KV values, standing in for JetStream KV in unit tests (the daemon tests use a real nats-server).
struct FixedKeyValues: KeyValueReader {
    var values: [String: [UInt8]]
    var failure: String?

    func value(bucket: String, key: String) async throws -> [UInt8]? {
        if let failure { throw FixedKeyValuesError(message: failure) }
        return values[bucket + "/" + key]
    }
}

struct FixedKeyValuesError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

@Suite("node.heartbeat")
struct NodeHeartbeatProbeTests {
    func observe(_ values: [String: String], prefix: String = "hive", failure: String? = nil,
                 _ parameters: [String: ParameterValue] = [:]) async -> Observation {
        let reader = FixedKeyValues(values: values.mapValues { Array($0.utf8) }, failure: failure)
        let environment = ProbeEnvironment(keyValues: reader, bucketPrefix: prefix)
        return await NodeHeartbeatProbe(environment: environment).observe(makeRequest(parameters))
    }

    func stamp(secondsAgo: Double) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date().addingTimeInterval(-secondsAgo))
    }

    @Test("a recent heartbeat passes, with its age")
    func recent() async {
        let observation = await observe(
            ["hive-cluster-state/heartbeat.node-a": "{\"node\":\"node-a\",\"timestamp\":\"\(stamp(secondsAgo: 2))\"}"])
        #expect(observation.outcome == .passed)
        #expect((observation.values["heartbeat_age_seconds"] ?? 99) < 10)
    }

    @Test("a heartbeat older than max_age, or none at all, fails")
    func staleOrMissing() async {
        let stale = await observe(
            ["hive-cluster-state/heartbeat.node-a": "{\"node\":\"node-a\",\"timestamp\":\"\(stamp(secondsAgo: 45))\"}"])
        #expect(stale.outcome == .failed)
        #expect(stale.message.contains("silent"))
        let missing = await observe([:])
        #expect(missing.outcome == .failed)
        let relaxed = await observe(
            ["hive-cluster-state/heartbeat.node-a": "{\"timestamp\":\"\(stamp(secondsAgo: 45))\"}"],
            ["max_age": .duration(.seconds(60))])
        #expect(relaxed.outcome == .passed)
    }

    @Test("Go's nanosecond RFC 3339 and offsets parse; the prefix picks the bucket")
    func formats() async throws {
        let goRecord = Array(#"{"node":"n","timestamp":"2026-11-30T04:00:00.123456789+10:00","epoch":3}"#.utf8)
        #expect(try NodeHeartbeat.decode(goRecord).timestamp == RFC3339.parse("2026-11-29T18:00:00.123456789Z"))
        let spinifex = await observe(
            ["spinifex-cluster-state/heartbeat.node-a": "{\"timestamp\":\"\(stamp(secondsAgo: 1))\"}"],
            prefix: "spinifex")
        #expect(spinifex.outcome == .passed)
    }

    @Test("a record that is not JSON, or has a bad timestamp, is unknown with the reason; so is no NATS")
    func badRecords() async {
        let garbage = await observe(["hive-cluster-state/heartbeat.node-a": "\u{1}\u{2}not json"])
        #expect(garbage.outcome == .unknown)
        #expect(garbage.message.contains("not a JSON object"))
        let badTime = await observe(["hive-cluster-state/heartbeat.node-a": "{\"timestamp\":\"yesterday\"}"])
        #expect(badTime.outcome == .unknown)
        #expect(badTime.message.contains("bad timestamp"))
        let noTime = await observe(["hive-cluster-state/heartbeat.node-a": "{\"timestamp\":42}"])
        #expect(noTime.outcome == .unknown)
        let down = await observe([:], failure: "not connected")
        #expect(down.outcome == .unknown)
        let noNATS = await NodeHeartbeatProbe(environment: ProbeEnvironment()).observe(makeRequest())
        #expect(noNATS.outcome == .unknown)
        #expect(noNATS.message.contains("no NATS"))
    }
}
