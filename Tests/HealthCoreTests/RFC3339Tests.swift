import Foundation
import HealthCore
import Testing

@Suite("RFC 3339: the one reader and writer of timestamps")
struct RFC3339Tests {
    @Test("writes UTC with milliseconds, and what it writes reads back to the millisecond")
    func roundTrip() {
        let date = Date(timeIntervalSince1970: 1_796_443_200.123)
        #expect(RFC3339.format(date) == "2026-12-05T04:00:00.123Z")
        #expect(RFC3339.parse(RFC3339.format(date)) == date)
        #expect(RFC3339.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
    }

    @Test("reads Go's nanoseconds, no fraction, offsets, and a lower-case t or z")
    func goAndOffsets() {
        let base = RFC3339.parse("2026-11-29T18:00:00Z")
        #expect(base == Date(timeIntervalSince1970: 1_795_975_200))
        let nanos = RFC3339.parse("2026-11-29T18:00:00.123456789Z")?.timeIntervalSince1970 ?? 0
        #expect(abs(nanos - 1_795_975_200.123456789) < 1e-6)
        #expect(RFC3339.parse("2026-11-30T04:00:00.5+10:00") == RFC3339.parse("2026-11-29T18:00:00.500Z"))
        #expect(RFC3339.parse("2026-11-29T17:30:00-00:30") == base)
        #expect(RFC3339.parse("2026-11-29t18:00:00z") == base)
    }

    @Test("refuses what is not RFC 3339", arguments: [
        "", "yesterday", "2026-11-29", "2026-11-29T18:00:00", "2026-11-29T18:00:00.Z", "2026-13-01T00:00:00Z",
        "2026-11-29T24:00:00Z", "2026-11-29T18:00:00+1000", "2026-11-29T18:00:00Z ", "2026/11/29T18:00:00Z",
        "2026-11-29T18:00:00." + String(repeating: "1", count: 60) + "Z",
    ])
    func refuses(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test("the health coders write and read dates through RFC3339")
    func coders() throws {
        struct Stamp: Codable, Equatable { var at: Date }
        let stamp = Stamp(at: Date(timeIntervalSince1970: 1_795_975_200.5))
        let data = try JSONEncoder.healthMessages.encode(stamp)
        #expect(String(decoding: data, as: UTF8.self) == #"{"at":"2026-11-29T18:00:00.500Z"}"#)
        #expect(try JSONDecoder.healthMessages.decode(Stamp.self, from: data) == stamp)
        let go = Data(#"{"at":"2026-11-30T04:00:00.5+10:00"}"#.utf8)
        #expect(try JSONDecoder.healthMessages.decode(Stamp.self, from: go) == stamp)
        #expect(throws: DecodingError.self) {
            try JSONDecoder.healthMessages.decode(Stamp.self, from: Data(#"{"at":"2026-11-29"}"#.utf8))
        }
    }
}

@Suite("NodeHeartbeat: Hive's and the agent's heartbeat records")
struct NodeHeartbeatTests {
    @Test("reads Hive's record, ignoring fields it does not name; the key names a node the record does not")
    func hiveRecord() throws {
        let record = Array(#"{"node":"n1","epoch":7,"timestamp":"2026-11-29T18:00:00.123456789Z","vm_count":2}"#.utf8)
        let heartbeat = try NodeHeartbeat.decode(record)
        #expect(heartbeat.node == "n1")
        #expect(heartbeat.timestamp == RFC3339.parse("2026-11-29T18:00:00.123456789Z"))
        #expect(heartbeat.agent == nil)
        #expect(try NodeHeartbeat.decode(Array(#"{"timestamp":"2026-11-29T18:00:00Z"}"#.utf8), node: "k").node == "k")
    }

    @Test("the agent's record round-trips with its catalogue")
    func agentRecord() throws {
        let heartbeat = NodeHeartbeat(
            node: "n2", timestamp: Date(timeIntervalSince1970: 1_795_975_200.25), agent: "hive-health",
            catalogue: CatalogueVersion(source: .shared, version: 3, sha256: "abc"))
        #expect(try NodeHeartbeat.decode(heartbeat.encoded()) == heartbeat)
    }

    @Test("a bad record says why", arguments: [
        ("not json", "not a JSON object"), ("[1]", "not a JSON object"), (#"{"node":"n"}"#, "no timestamp string"),
        (#"{"timestamp":5}"#, "no timestamp string"), (#"{"timestamp":"yesterday"}"#, "bad timestamp 'yesterday'"),
    ])
    func badRecord(_ record: String, _ reason: String) {
        #expect(throws: NodeHeartbeat.DecodeError(reason: reason)) { try NodeHeartbeat.decode(Array(record.utf8)) }
    }

    @Test("records over 64 KiB are refused unread; timestamps(_:prefix:) keys by node and skips bad ones")
    func boundsAndTimestamps() {
        let big = Array(#"{"timestamp":"2026-11-29T18:00:00Z","pad":""#.utf8) + Array(repeating: 0x61, count: 70_000)
        #expect(throws: NodeHeartbeat.DecodeError(reason: "record larger than 64 KiB")) {
            try NodeHeartbeat.decode(big)
        }
        let stamps = NodeHeartbeat.timestamps(
            [
                "agent.a": Array(#"{"timestamp":"2026-11-29T18:00:00Z"}"#.utf8), "agent.b": Array("x".utf8),
                "vote.c": Array(#"{"timestamp":"2026-11-29T18:00:00Z"}"#.utf8),
            ], prefix: "agent.")
        #expect(stamps == ["a": RFC3339.parse("2026-11-29T18:00:00Z")!])
    }
}
