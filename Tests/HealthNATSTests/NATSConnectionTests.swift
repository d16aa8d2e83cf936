import Foundation
import HealthNATS
import HealthTestKit
import Logging
import Testing

@Suite("NATSConnection against a real nats-server", .serialized)
struct NATSConnectionTests {
    let logger = Logger(label: "test")

    func connect(_ server: NATSServerProcess, token: String? = nil) async throws -> NATSConnection {
        var configuration = NATSConfiguration(url: server.url, token: token)
        configuration.reconnectMax = .milliseconds(200)
        return try await NATSConnection.connect(configuration, requireServer: true, logger: logger)
    }

    @Test func publishedMessagesReachASubscriber() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await connect(server)
        defer { connection.close() }
        let subscription = try connection.subscribe("test.>")
        try await connection.flush()
        for index in 0..<5 {
            try connection.publish("test.\(index)", payload: Array("message \(index)".utf8))
        }
        let received = await withDeadline(.seconds(10), onExpiry: { subscription.unsubscribe() }) {
            var received: [NATSMessage] = []
            for await message in subscription {
                received.append(message)
                if received.count == 5 { break }
            }
            return received
        }
        #expect(received.map(\.subject) == (0..<5).map { "test.\($0)" })
        #expect(received.last?.text == "message 4")
    }

    @Test func requestGetsTheReplyOrTimesOut() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await connect(server)
        defer { connection.close() }
        let responder = try connection.subscribe("echo")
        try await connection.flush()
        let serving = Task {
            for await message in responder {
                if let reply = message.replyTo { try? connection.publish(reply, payload: message.payload.reversed()) }
            }
        }
        let reply = try await connection.request("echo", payload: Array("abc".utf8), timeout: .seconds(5))
        #expect(reply.text == "cba")
        responder.unsubscribe()
        await serving.value
        await #expect(throws: NATSError.self) {
            try await connection.request("nobody.listens", payload: [], timeout: .milliseconds(300))
        }
    }

    @Test func aTokenProtectedServerNeedsTheToken() async throws {
        let server = try NATSServerProcess(token: "s3cret")
        defer { server.stop() }
        await #expect(throws: NATSError.self) { try await connect(server, token: "wrong") }
        let connection = try await connect(server, token: "s3cret")
        defer { connection.close() }
        #expect(connection.isConnected)
    }

    @Test func hiveHostsWithoutSchemeBecomeNATSURLs() {
        #expect(NATSConfiguration(host: "10.0.0.1:4222", token: "").url == "nats://10.0.0.1:4222")
        #expect(NATSConfiguration(host: "10.0.0.1:4222", token: "").token == nil)
        #expect(NATSConfiguration(host: "nats://h:1", token: "t").url == "nats://h:1")
    }

    @Test func aClusterIsACommaSeparatedHostList() {
        let cluster = NATSConfiguration(host: " 10.0.0.1:4222, nats://10.0.0.2:4222 ,10.0.0.3:4222,", token: nil)
        #expect(cluster.servers == ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222", "nats://10.0.0.3:4222"])
        #expect(cluster.url == "nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222")
        #expect(NATSConfiguration(host: "h:1", token: nil).servers == ["nats://h:1"])
        #expect(NATSConfiguration(host: "h:1", token: nil).replicas == 1)
    }

    @Test func bucketsAndStreamsThatExistKeepTheirReplicas() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await connect(server)
        defer { connection.close() }
        let bucket = try await connection.keyValue(KeyValueBucketConfiguration(bucket: "kept"))
        try await bucket.put("k", value: [1])
        try await connection.ensureStream(JetStreamStreamConfiguration(name: "KEPT", subjects: ["kept.>"]))
        // Three replicas asked for on one server: creating would fail; what exists is opened as it is, data kept.
        var three = NATSConfiguration(url: server.url)
        three.replicas = 3
        let other = try await NATSConnection.connect(three, requireServer: true, logger: Logger(label: "test"))
        defer { other.close() }
        #expect(try await other.keyValue(KeyValueBucketConfiguration(bucket: "kept")).get("k")?.value == [1])
        try await other.ensureStream(JetStreamStreamConfiguration(name: "KEPT", subjects: ["kept.>"]))
        await #expect(throws: NATSError.self) {
            try await other.keyValue(KeyValueBucketConfiguration(bucket: "new-with-three"))
        }
    }

    @Test func jetStreamDropsDuplicatesByMessageID() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await connect(server)
        defer { connection.close() }
        try await connection.ensureStream(JetStreamStreamConfiguration(name: "EVENTS", subjects: ["events.>"]))
        // Ensuring again (same or changed configuration) is not an error.
        try await connection.ensureStream(JetStreamStreamConfiguration(name: "EVENTS", subjects: ["events.>"]))
        let first = try await connection.publishJetStream("events.a", payload: [1], messageID: "id-1")
        let again = try await connection.publishJetStream("events.a", payload: [1], messageID: "id-1")
        let other = try await connection.publishJetStream("events.a", payload: [2], messageID: "id-2")
        #expect(first.stream == "EVENTS")
        #expect(!first.duplicate)
        #expect(again.duplicate)
        #expect(again.sequence == first.sequence)
        #expect(other.sequence == first.sequence + 1)
    }

    @Test func keyValueGetPutCreateDeleteAndWatch() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await connect(server)
        defer { connection.close() }
        await #expect(throws: NATSError.self) { try await connection.keyValue("missing") }
        let bucket = try await connection.keyValue(KeyValueBucketConfiguration(bucket: "test-bucket"))
        #expect(try await bucket.get("a") == nil)
        try await bucket.put("a", value: Array("1".utf8))
        let watch = try await bucket.watch(">")
        try await withDeadline(.seconds(10), onExpiry: { watch.stop() }) {
        var changes = watch.makeAsyncIterator()
        #expect(await changes.next() == .put(KeyValueEntry(key: "a", value: Array("1".utf8), revision: 1)))
        #expect(await changes.next() == .caughtUp)
        try await bucket.create("b", value: Array("2".utf8))
        await #expect(throws: NATSError.self) { try await bucket.create("b", value: []) }
        #expect(try await bucket.get("b")?.value == Array("2".utf8))
        try await bucket.delete("a")
        #expect(try await bucket.get("a") == nil)
        #expect(await changes.next() == .put(KeyValueEntry(key: "b", value: Array("2".utf8), revision: 2)))
        #expect(await changes.next() == .deleted(key: "a", revision: 3))
        watch.stop()
        #expect(await changes.next() == nil)
        }
    }

    @Test func theConnectionComesBackAfterTheServerRestarts() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let connection = try await connect(server)
        defer { connection.close() }
        let subscription = try connection.subscribe("after.restart")
        try await connection.flush()
        server.kill9()
        #expect(await eventually(timeout: .seconds(5)) { !connection.isConnected })
        try server.start()
        #expect(await eventually(timeout: .seconds(10)) { connection.isConnected })
        try connection.publish("after.restart", payload: [42])
        let payload = await withDeadline(.seconds(10), onExpiry: { subscription.unsubscribe() }) {
            var iterator = subscription.makeAsyncIterator()
            return await iterator.next()?.payload
        }
        #expect(payload == [42])
    }

    @Test func startsWhileTheServerIsDownAndConnectsLater() async throws {
        let port = try NATSServerProcess.freePort()
        var configuration = NATSConfiguration(url: "nats://127.0.0.1:\(port)")
        configuration.reconnectMax = .milliseconds(100)
        await #expect(throws: NATSError.self) {
            try await NATSConnection.connect(configuration, requireServer: true, logger: logger)
        }
        let connection = try await NATSConnection.connect(configuration, logger: logger)
        defer { connection.close() }
        #expect(!connection.isConnected)
    }
}
