import CNetworkShim
import Foundation
import HealthCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The thread behind one ``ICMPSocket``: it sends queued echoes at their paced slots, reads replies, and expires
/// echoes from one deadline heap, sleeping in `poll(2)` until the next of those three is due or a caller wakes it.
///
/// Every mutable thing is in ``state`` (a mutex); callers only enqueue and wake. Continuations are resumed outside
/// the lock, once per batch.
final class EchoLoop: Sendable {
    typealias Outcome = ICMPSocket.Outcome

    /// The echoes one caller waits for together: `count` to each of `addresses` (a round over a thousand addresses is
    /// one batch, resumed once). Echo `i` to address `a` is at index `a * count + i`.
    private struct Batch {
        var addresses: [IPAddress]
        var count: Int
        var timeout: Duration
        var outcomes: [Outcome?]
        var remaining: Int
        /// The sequence number each sent echo has, to forget them when the batch is cancelled.
        var sequences: [UInt16?]
        var continuation: CheckedContinuation<[Outcome], Never>
    }

    /// An echo on the wire.
    private struct InFlight {
        var batch: UInt64
        var index: Int
        var address: [UInt8]
        var sentAt: ContinuousClock.Instant
    }

    /// A moment the loop must act on: a queued echo's earliest send time, or a sent echo's deadline.
    private struct Timer: Comparable {
        var at: ContinuousClock.Instant
        var batch: UInt64
        var index: Int
        /// Set for deadlines (the echo's sequence number); nil for sends.
        var sequence: UInt16?
        static func < (a: Timer, b: Timer) -> Bool { a.at < b.at }
    }

    private struct State {
        var batches: [UInt64: Batch] = [:]
        var nextBatch: UInt64 = 0
        var sends = EventHeap<Timer>(by: <)
        var deadlines = EventHeap<Timer>(by: <)
        var inFlight: [UInt16: InFlight] = [:]
        var nextSequence: UInt16 = 0
        var nextSlot: ContinuousClock.Instant
        var wakePending = false
        var stopping = false
    }

    private let state: Mutex<State>
    private let descriptor: Int32
    private let wake: Int32
    private let family: IPAddress.Family
    private let kind: Pinger.SocketKind
    private let identifier: UInt16
    private let sendInterval: Duration
    private let payload: [UInt8]

    init(
        descriptor: Int32, family: IPAddress.Family, kind: Pinger.SocketKind, identifier: UInt16,
        sendInterval: Duration, payload: [UInt8]
    ) {
        self.descriptor = descriptor
        self.wake = hive_health_eventfd()
        self.family = family
        self.kind = kind
        self.identifier = identifier
        self.sendInterval = sendInterval
        self.payload = payload
        self.state = Mutex(State(nextSlot: .now))
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "hive-health.icmp"
        thread.start()
    }

    /// Ends the thread; echoes still waiting are answered with an error, and the descriptors are closed.
    func stop() {
        state.withLock { $0.stopping = true }
        signal()
    }

    func newBatchID() -> UInt64 {
        state.withLock { state in
            state.nextBatch &+= 1
            return state.nextBatch
        }
    }

    func submit(
        batch id: UInt64, addresses: [IPAddress], count: Int, interval: Duration, timeout: Duration,
        continuation: CheckedContinuation<[Outcome], Never>
    ) {
        let count = max(1, count)
        let total = addresses.count * count
        guard total > 0 else {
            continuation.resume(returning: [])
            return
        }
        let (refused, wakeUp) = state.withLock { state -> (Bool, Bool) in
            if state.stopping { return (true, false) }
            state.batches[id] = Batch(
                addresses: addresses, count: count, timeout: timeout, outcomes: Array(repeating: nil, count: total),
                remaining: total, sequences: Array(repeating: nil, count: total), continuation: continuation)
            let now = ContinuousClock.now
            for echo in 0..<count {
                let at = now.advanced(by: interval * echo)
                for address in addresses.indices {
                    state.sends.insert(Timer(at: at, batch: id, index: address * count + echo))
                }
            }
            if state.wakePending { return (false, false) }
            state.wakePending = true
            return (false, true)
        }
        if refused { continuation.resume(returning: Array(repeating: .error("the ICMP socket is closed"), count: total)) }
        if wakeUp { signal() }
    }

    /// Ends every echo of `batch` not yet answered with "cancelled".
    func cancel(batch id: UInt64) {
        let done = state.withLock { state -> (CheckedContinuation<[Outcome], Never>, [Outcome])? in
            guard let batch = state.batches[id] else { return nil }
            for sequence in batch.sequences.compactMap({ $0 }) where state.inFlight[sequence]?.batch == id {
                state.inFlight[sequence] = nil
            }
            state.batches[id] = nil
            return (batch.continuation, batch.outcomes.map { $0 ?? .error("cancelled") })
        }
        if let (continuation, outcomes) = done { continuation.resume(returning: outcomes) }
    }

    private func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { write(wake, $0.baseAddress, 8) }
    }

    // MARK: The thread

    private typealias Resumption = (CheckedContinuation<[Outcome], Never>, [Outcome])

    private func run() {
        var fds = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let (stopping, wait) = state.withLock { state -> (Bool, Int32) in
                state.wakePending = false
                return (state.stopping, Self.pollTimeout(state, now: .now))
            }
            if stopping { break }
            fds[0].revents = 0
            fds[1].revents = 0
            // Without a wake descriptor (eventfd refused), new echoes are picked up within 10 ms.
            let ready = poll(&fds, 2, wake < 0 && (wait < 0 || wait > 10) ? 10 : wait)
            if ready < 0, errno != EINTR { break }
            if fds[1].revents != 0 {
                var value: UInt64 = 0
                _ = withUnsafeMutableBytes(of: &value) { read(wake, $0.baseAddress, 8) }
            }
            var resumptions: [Resumption] = []
            if fds[0].revents & Int16(POLLIN) != 0 { receive(&buffer, into: &resumptions) }
            sendDue(into: &resumptions)
            expire(into: &resumptions)
            for (continuation, outcomes) in resumptions { continuation.resume(returning: outcomes) }
        }
        let left = state.withLock { state -> [Resumption] in
            let left = state.batches.values.map { ($0.continuation, $0.outcomes.map { $0 ?? .error("the ICMP socket is closed") }) }
            state.batches = [:]
            state.inFlight = [:]
            return left
        }
        for (continuation, outcomes) in left { continuation.resume(returning: outcomes) }
        close(descriptor)
        close(wake)
    }

    /// Milliseconds until the next send slot or deadline; -1 (forever) when nothing waits.
    private static func pollTimeout(_ state: State, now: ContinuousClock.Instant) -> Int32 {
        var next: ContinuousClock.Instant?
        if let send = state.sends.min { next = max(send.at, state.nextSlot) }
        if let deadline = state.deadlines.min { next = next.map { min($0, deadline.at) } ?? deadline.at }
        guard let next else { return -1 }
        let nanos = (next - now).nanoseconds
        return Int32(clamping: max(0, (nanos + 999_999) / 1_000_000))
    }

    /// Sends every queued echo whose time and paced slot have come.
    private func sendDue(into resumptions: inout [Resumption]) {
        let now = ContinuousClock.now
        let toSend = state.withLock { state -> [(UInt16, IPAddress, UInt64, Int)] in
            // A late wake-up may send the slots it missed, but not a burst of more than a few.
            if state.nextSlot < now.advanced(by: sendInterval * -4) { state.nextSlot = now }
            var due: [(UInt16, IPAddress, UInt64, Int)] = []
            while state.nextSlot <= now, let first = state.sends.popMin(if: { $0.at <= now }) {
                // Read in place: a copy of the batch would make its arrays copy themselves on the writes below.
                guard let slot = state.batches.index(forKey: first.batch) else { continue }
                let count = state.batches.values[slot].count
                let address = state.batches.values[slot].addresses[first.index / count]
                let timeout = state.batches.values[slot].timeout
                guard let sequence = Self.freeSequence(&state) else {
                    if let done = Self.finish(&state, first.batch, first.index, .error("65536 echoes in flight")) {
                        resumptions.append(done)
                    }
                    continue
                }
                state.inFlight[sequence] = InFlight(
                    batch: first.batch, index: first.index, address: address.bytes, sentAt: now)
                state.batches.values[slot].sequences[first.index] = sequence
                state.deadlines.insert(Timer(
                    at: now.advanced(by: timeout), batch: first.batch, index: first.index, sequence: sequence))
                state.nextSlot = state.nextSlot.advanced(by: sendInterval)
                due.append((sequence, address, first.batch, first.index))
            }
            return due
        }
        for (sequence, address, batch, index) in toSend {
            let packet = makePacket(sequence: sequence)
            let sent = packet.withUnsafeBytes { raw in
                address.withSocketAddress { pointer, length in
                    sendto(descriptor, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), pointer, length)
                }
            }
            if sent < 0 {
                let reason = String(cString: strerror(errno))
                let done = state.withLock { state -> Resumption? in
                    guard state.inFlight[sequence]?.batch == batch else { return nil }
                    state.inFlight[sequence] = nil
                    return Self.finish(&state, batch, index, .error("send: \(reason)"))
                }
                if let done { resumptions.append(done) }
            }
        }
    }

    /// Ends the echoes whose deadline passed unanswered.
    private func expire(into resumptions: inout [Resumption]) {
        let now = ContinuousClock.now
        state.withLock { state in
            while let first = state.deadlines.popMin(if: { $0.at <= now }) {
                guard let sequence = first.sequence, let flight = state.inFlight[sequence], flight.batch == first.batch,
                      flight.index == first.index else { continue }
                state.inFlight[sequence] = nil
                if let done = Self.finish(&state, first.batch, first.index, .timeout) { resumptions.append(done) }
            }
        }
    }

    private static func freeSequence(_ state: inout State) -> UInt16? {
        for _ in 0..<65536 {
            let sequence = state.nextSequence
            state.nextSequence &+= 1
            if state.inFlight[sequence] == nil { return sequence }
        }
        return nil
    }

    /// Records one echo's outcome; the batch's continuation and outcomes when it was the last.
    private static func finish(_ state: inout State, _ id: UInt64, _ index: Int, _ outcome: Outcome) -> Resumption? {
        // In place: a batch of a thousand echoes must not be copied for each of them.
        guard let slot = state.batches.index(forKey: id), state.batches.values[slot].outcomes[index] == nil else {
            return nil
        }
        state.batches.values[slot].outcomes[index] = outcome
        state.batches.values[slot].remaining -= 1
        guard state.batches.values[slot].remaining == 0 else { return nil }
        let batch = state.batches.remove(at: slot).value
        return (batch.continuation, batch.outcomes.map { $0 ?? .timeout })
    }

    // MARK: Packets

    private func makePacket(sequence: UInt16) -> [UInt8] {
        var packet: [UInt8] = [family == .v4 ? 8 : 128, 0, 0, 0]
        packet += [UInt8(identifier >> 8), UInt8(identifier & 0xff), UInt8(sequence >> 8), UInt8(sequence & 0xff)]
        packet += payload
        if family == .v4 {
            let sum = ICMPSocket.checksum(packet)
            packet[2] = UInt8(sum >> 8)
            packet[3] = UInt8(sum & 0xff)
        }
        return packet
    }

    /// Reads what arrived (at most 1,024 packets per wake-up) and completes the echoes it answers.
    private func receive(_ buffer: inout [UInt8], into resumptions: inout [Resumption]) {
        for _ in 0..<1024 {
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(descriptor, raw.baseAddress, raw.count, 0, $0, &fromLength)
                    }
                }
            }
            guard count > 0 else {
                if count < 0, errno == EINTR { continue }
                return
            }
            let arrived = ContinuousClock.now
            handle(buffer[0..<count], source: ICMPSocket.sourceBytes(from), at: arrived, into: &resumptions)
        }
    }

    private func handle(
        _ packet: ArraySlice<UInt8>, source: [UInt8], at arrived: ContinuousClock.Instant,
        into resumptions: inout [Resumption]
    ) {
        var icmp = packet
        if family == .v4, kind == .raw {
            guard let first = packet.first, first >> 4 == 4 else { return }
            let headerLength = Int(first & 0x0f) * 4
            guard packet.count >= headerLength + 8 else { return }
            icmp = packet.dropFirst(headerLength)
        }
        guard icmp.count >= 8 else { return }
        let type = icmp[icmp.startIndex]
        let replyType: UInt8 = family == .v4 ? 0 : 129
        if type == replyType {
            guard kind == .datagram || ICMPSocket.uint16(icmp, at: 4) == identifier else { return }
            complete(ICMPSocket.uint16(icmp, at: 6), source: source, checkSource: true, arrived: arrived, error: nil,
                     into: &resumptions)
            return
        }
        // Destination unreachable / time exceeded carrying our request: fail that echo at once.
        let reason: String
        switch (family, type) {
        case (.v4, 3), (.v6, 1): reason = "destination unreachable"
        case (.v4, 11), (.v6, 3): reason = "time exceeded"
        default: return
        }
        guard kind == .raw else { return }
        let inner = icmp.dropFirst(8)
        let innerHeader: Int
        if family == .v4 {
            guard let first = inner.first, first >> 4 == 4 else { return }
            innerHeader = Int(first & 0x0f) * 4
        } else {
            innerHeader = 40
        }
        let original = inner.dropFirst(innerHeader)
        guard original.count >= 8, original[original.startIndex] == (family == .v4 ? 8 : 128),
              ICMPSocket.uint16(original, at: 4) == identifier
        else { return }
        let code = icmp[icmp.startIndex + 1]
        let from = source.count == 4 ? IPAddress(v4: source).description : "a router"
        complete(ICMPSocket.uint16(original, at: 6), source: source, checkSource: false, arrived: arrived,
                 error: "\(reason) (code \(code)) from \(from)", into: &resumptions)
    }

    private func complete(
        _ sequence: UInt16, source: [UInt8], checkSource: Bool, arrived: ContinuousClock.Instant, error: String?,
        into resumptions: inout [Resumption]
    ) {
        let done = state.withLock { state -> Resumption? in
            guard let flight = state.inFlight[sequence] else { return nil }
            if checkSource, flight.address != source { return nil }
            state.inFlight[sequence] = nil
            let outcome: Outcome = error.map { .error($0) } ?? .reply(arrived - flight.sentAt)
            return Self.finish(&state, flight.batch, flight.index, outcome)
        }
        if let done { resumptions.append(done) }
    }
}
