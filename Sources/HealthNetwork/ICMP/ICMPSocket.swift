import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One ICMP socket (raw, or the unprivileged datagram kind) for one address family, shared by every echo of that
/// family: a sequence map matches replies to waiting echoes, a read source on a private queue receives them.
final class ICMPSocket: Sendable {
    /// What became of one echo request.
    enum Outcome: Sendable, Hashable {
        case reply(Duration)
        case timeout
        case error(String)
    }

    private struct Pending {
        var address: [UInt8]
        var sentAt: ContinuousClock.Instant
        var generation: UInt64
        var continuation: CheckedContinuation<Outcome, Never>?
    }

    private struct State {
        var pending: [UInt16: Pending] = [:]
        var nextSequence: UInt16 = 0
        var generation: UInt64 = 0
        var nextSlot: ContinuousClock.Instant
    }

    let family: IPAddress.Family
    let kind: Pinger.SocketKind
    let identifier: UInt16
    private let descriptor: Int32
    private let sendInterval: Duration
    private let payload: [UInt8]
    private let state: Mutex<State>
    private let queue = DispatchQueue(label: "hive-health.icmp")
    // Dispatch sources are thread-safe: resume, cancel and the handlers may be used from any thread.
    private nonisolated(unsafe) let source: any DispatchSourceRead

    init(
        descriptor: Int32, family: IPAddress.Family, kind: Pinger.SocketKind, identifier: UInt16,
        sendInterval: Duration, payloadBytes: Int
    ) {
        self.descriptor = descriptor
        self.family = family
        self.kind = kind
        self.identifier = identifier
        self.sendInterval = sendInterval
        self.payload = (0..<payloadBytes).map { UInt8(truncatingIfNeeded: $0 + 0x10) }
        self.state = Mutex(State(nextSlot: ContinuousClock.now))
        self.source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: queue)
        let fd = descriptor
        source.setEventHandler { [weak self] in self?.receive() }
        source.setCancelHandler { _ = close(fd) }
        source.resume()
    }

    deinit {
        source.cancel()
    }

    /// Opens a socket of `family`: raw when allowed (unless `preferred` says datagram), else the datagram kind.
    static func open(family: IPAddress.Family, preferred: Pinger.SocketKind?) throws(NetworkError)
        -> (Int32, Pinger.SocketKind)
    {
        let domain = family == .v4 ? AF_INET : AF_INET6
        let proto = family == .v4 ? Int32(IPPROTO_ICMP) : Int32(IPPROTO_ICMPV6)
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        var rawError: Int32 = 0
        if preferred != .datagram {
            let fd = socket(domain, Int32(SOCK_RAW.rawValue) | flags, proto)
            if fd >= 0 {
                enlargeReceiveBuffer(fd)
                return (fd, .raw)
            }
            rawError = errno
            if preferred == .raw || (rawError != EPERM && rawError != EACCES) {
                throw NetworkError(
                    rawError == EPERM || rawError == EACCES ? .permission : .system,
                    "raw ICMP socket: \(String(cString: strerror(rawError)))")
            }
        }
        let fd = socket(domain, Int32(SOCK_DGRAM.rawValue) | flags, proto)
        if fd >= 0 {
            enlargeReceiveBuffer(fd)
            return (fd, .datagram)
        }
        let code = errno
        let raw = String(cString: strerror(rawError == 0 ? EPERM : rawError))
        let datagram = String(cString: strerror(code))
        throw NetworkError(
            .permission,
            "needs CAP_NET_RAW: raw ICMP socket refused (\(raw)), unprivileged ICMP socket refused (\(datagram); "
                + "see net.ipv4.ping_group_range)")
    }

    /// Bursts of thousands of replies must not overflow the default receive buffer.
    private static func enlargeReceiveBuffer(_ fd: Int32) {
        var size: Int32 = 4 << 20
        let length = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, length) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, length)
        }
    }

    /// Sends one echo request to `address` at the next paced slot and waits for its reply, at most `timeout`.
    func echo(_ address: IPAddress, timeout: Duration) async -> Outcome {
        let slot = state.withLock { state -> ContinuousClock.Instant in
            let slot = max(ContinuousClock.now, state.nextSlot)
            state.nextSlot = slot.advanced(by: sendInterval)
            return slot
        }
        if slot > ContinuousClock.now {
            do {
                try await Task.sleep(until: slot, clock: .continuous)
            } catch {
                return .error("cancelled")
            }
        }
        let reserved = state.withLock { state -> (UInt16, UInt64)? in
            for _ in 0..<65536 {
                let sequence = state.nextSequence
                state.nextSequence &+= 1
                if state.pending[sequence] == nil {
                    state.generation += 1
                    state.pending[sequence] = Pending(
                        address: address.bytes, sentAt: .now, generation: state.generation, continuation: nil)
                    return (sequence, state.generation)
                }
            }
            return nil
        }
        guard let (sequence, generation) = reserved else { return .error("65536 echoes in flight") }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.finish(sequence, generation: generation, .timeout)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let early = state.withLock { state -> Outcome? in
                    guard state.pending[sequence]?.generation == generation else { return .timeout }
                    state.pending[sequence]?.continuation = continuation
                    state.pending[sequence]?.sentAt = .now
                    return nil
                }
                if let early {
                    continuation.resume(returning: early)
                    return
                }
                let packet = makePacket(sequence: sequence)
                let sent = packet.withUnsafeBytes { raw in
                    address.withSocketAddress { pointer, length in
                        sendto(descriptor, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), pointer, length)
                    }
                }
                if sent < 0 {
                    let code = errno
                    let reason = String(cString: strerror(code))
                    finish(sequence, generation: generation, .error("send: \(reason)"))
                }
            }
        } onCancel: {
            finish(sequence, generation: generation, .error("cancelled"))
        }
    }

    /// Ends echo `sequence` of `generation` with `outcome` (once: later calls find nothing).
    private func finish(_ sequence: UInt16, generation: UInt64, _ outcome: Outcome) {
        let continuation = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            guard let pending = state.pending[sequence], pending.generation == generation else { return nil }
            if pending.continuation == nil {
                // Not waiting yet: leave the outcome for the waiter by dropping the entry (it then sees a timeout).
                state.pending[sequence] = nil
                return nil
            }
            state.pending[sequence] = nil
            return pending.continuation
        }
        continuation?.resume(returning: outcome)
    }

    private func makePacket(sequence: UInt16) -> [UInt8] {
        var packet: [UInt8] = [family == .v4 ? 8 : 128, 0, 0, 0]
        packet += [UInt8(identifier >> 8), UInt8(identifier & 0xff), UInt8(sequence >> 8), UInt8(sequence & 0xff)]
        packet += payload
        if family == .v4 {
            let sum = Self.checksum(packet)
            packet[2] = UInt8(sum >> 8)
            packet[3] = UInt8(sum & 0xff)
        }
        return packet
    }

    /// RFC 1071 Internet checksum (ICMPv6's is computed by the kernel).
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// Reads what arrived (bounded per wake-up) and completes the echoes it answers.
    private func receive() {
        var buffer = [UInt8](repeating: 0, count: 2048)
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
            let source = Self.sourceBytes(from)
            handle(buffer[0..<count], source: source, at: arrived)
        }
    }

    private static func sourceBytes(_ storage: sockaddr_storage) -> [UInt8] {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: &storage) { raw in
                raw.withMemoryRebound(to: sockaddr_in.self) { address in
                    withUnsafeBytes(of: address[0].sin_addr) { Array($0) }
                }
            }
        case AF_INET6:
            return withUnsafeBytes(of: &storage) { raw in
                raw.withMemoryRebound(to: sockaddr_in6.self) { address in
                    withUnsafeBytes(of: address[0].sin6_addr) { Array($0) }
                }
            }
        default: return []
        }
    }

    private func handle(_ packet: ArraySlice<UInt8>, source: [UInt8], at arrived: ContinuousClock.Instant) {
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
            let identifierOK = kind == .datagram || Self.uint16(icmp, at: 4) == identifier
            guard identifierOK else { return }
            complete(Self.uint16(icmp, at: 6), source: source, checkSource: true, arrived: arrived, error: nil)
            return
        }
        // Destination unreachable / time exceeded carrying our request: fail that echo at once.
        let errorTypes: [UInt8: String] =
            family == .v4
            ? [3: "destination unreachable", 11: "time exceeded"]
            : [1: "destination unreachable", 3: "time exceeded"]
        guard let reason = errorTypes[type], kind == .raw else { return }
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
            Self.uint16(original, at: 4) == identifier
        else { return }
        let code = icmp[icmp.startIndex + 1]
        let from = source.count == 4 ? IPAddress(v4: source).description : "a router"
        complete(
            Self.uint16(original, at: 6), source: source, checkSource: false, arrived: arrived,
            error: "\(reason) (code \(code)) from \(from)")
    }

    private func complete(
        _ sequence: UInt16, source: [UInt8], checkSource: Bool, arrived: ContinuousClock.Instant,
        error: String?
    ) {
        let (continuation, outcome) = state.withLock { state -> (CheckedContinuation<Outcome, Never>?, Outcome) in
            guard let pending = state.pending[sequence], let continuation = pending.continuation else {
                return (nil, .timeout)
            }
            if checkSource, pending.address != source { return (nil, .timeout) }
            state.pending[sequence] = nil
            return (continuation, error.map { .error($0) } ?? .reply(arrived - pending.sentAt))
        }
        continuation?.resume(returning: outcome)
    }

    private static func uint16(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt16 {
        let start = bytes.startIndex + offset
        return UInt16(bytes[start]) << 8 | UInt16(bytes[start + 1])
    }
}
