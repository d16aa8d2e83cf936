// A publish/subscribe/request/JetStream/KV loop against the nats-server at argv[1], for running under valgrind or
// AddressSanitizer: every libnats handle must be freed exactly once (no leak, no double free). Exits 0 when the loop
// worked.
import CNATS
import Foundation
import HealthNATS
import Logging

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: NATSLoopCheck nats://HOST:PORT [ROUNDS]\n".utf8))
    exit(2)
}
let rounds = arguments.count >= 3 ? Int(arguments[2]) ?? 20 : 20
// `leak` as the third argument leaks one libnats message on purpose: proves the leak detector is watching.
let leakOnPurpose = arguments.count >= 4 && arguments[3] == "leak"
let logger = Logger(label: "loop-check")

func loop() async throws {
    let connection = try await NATSConnection.connect(
        NATSConfiguration(url: arguments[1]), requireServer: true, logger: logger)
    defer { connection.close() }
    try await connection.ensureStream(JetStreamStreamConfiguration(name: "LOOP", subjects: ["loop.events"]))
    let bucket = try await connection.keyValue(KeyValueBucketConfiguration(bucket: "loop-bucket"))
    let watch = try await bucket.watch(">")
    let subscription = try connection.subscribe("loop.core")
    try await connection.flush()
    var received = 0
    for round in 0..<rounds {
        try connection.publish("loop.core", payload: Array("round \(round)".utf8))
        _ = try await connection.publishJetStream("loop.events", payload: [UInt8(round % 256)], messageID: "m-\(round)")
        try await bucket.put("key.\(round % 5)", value: Array("\(round)".utf8))
        _ = try await bucket.get("key.\(round % 5)")
        if round % 5 == 4 { try await bucket.delete("key.\(round % 5)") }
        _ = try? await connection.request("nobody", payload: [], timeout: .milliseconds(50))
    }
    try await connection.flush()
    for await _ in subscription {
        received += 1
        if received == rounds { break }
    }
    subscription.unsubscribe()
    watch.stop()
    for await _ in watch {}
    guard received == rounds else { throw NATSError(code: .other, message: "received \(received) of \(rounds)") }
}

do {
    try await loop()
} catch {
    FileHandle.standardError.write(Data("loop failed: \(error)\n".utf8))
    exit(1)
}
@inline(never) func leakMessages() {
    for _ in 0..<64 {
        var message: OpaquePointer?
        _ = natsMsg_Create(&message, "leak", nil, "x", 1)
    }
}
if leakOnPurpose { leakMessages() }
// Lets libnats' own threads and caches go, so only our leaks remain.
_ = nats_CloseAndWait(5000)
print("ok")
