import Foundation
import HealthCore
import HealthDaemon
import HealthEngine
import HealthNATS
import HealthTestKit
import Logging
import Testing

@Suite("Outbox across a nats-server restart", .serialized)
struct OutageTests {
    let logger = Logger(label: "test")

    func event(_ index: Int) -> HealthEvent {
        HealthEvent(
            node: "node-1", instanceID: "i-\(index)", category: .instance, check: "qemu.process", probe: "qemu.process",
            target: "i-\(index)",
            transition: CheckTransition(
                from: .passed, to: .failed, at: Date(timeIntervalSince1970: 1_800_000_000 + Double(index)),
                reason: "test", flapping: false, flappingChanged: false))
    }

    @Test("events queued while nats-server is down arrive after it restarts, each exactly once")
    func noEventLostOrDuplicated() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        var configuration = NATSConfiguration(url: server.url)
        configuration.reconnectMax = .milliseconds(200)
        // Generous for a busy machine (a full suite once sent only 8 of 20 in 10 s with 1 s): acks come at once when
        // the server is up.
        configuration.jetStreamTimeout = .seconds(3)
        let connection = try await NATSConnection.connect(configuration, requireServer: true, logger: logger)
        defer { connection.close() }
        let publisher = HealthPublisher(
            subjects: HealthSubjects(prefix: "hive"), outbox: Outbox(limit: 1000, logger: logger), logger: logger)
        try await connection.ensureStream(publisher.eventStream)
        let sender = Task { await publisher.outbox.run(connection: connection) }
        defer { sender.cancel() }

        publisher.publish(events: (0..<20).map(event))
        #expect(await eventually(timeout: .seconds(30)) { publisher.outbox.sent == 20 })

        server.stop()
        #expect(await eventually(timeout: .seconds(5)) { !connection.isConnected })
        publisher.publish(events: (20..<50).map(event))
        // The same transitions again (a re-drain after a crash, say): de-duplicated by Nats-Msg-Id.
        publisher.publish(events: (10..<20).map(event))
        #expect(publisher.outbox.pending == 40)
        try server.start()
        #expect(await eventually(timeout: .seconds(20)) { publisher.outbox.pending == 0 })
        #expect(publisher.outbox.dropped == 0)
        #expect(try await connection.streamMessageCount("HIVE_HEALTH_EVENTS") == 50)
    }

    @Test("a full outbox drops the oldest messages and counts them")
    func overflowDropsOldest() async throws {
        let outbox = Outbox(limit: 3, logger: logger)
        for index in 0..<5 {
            outbox.enqueue(OutgoingMessage(subject: "s", payload: [UInt8(index)]))
        }
        #expect(outbox.pending == 3)
        #expect(outbox.dropped == 2)
    }
}
