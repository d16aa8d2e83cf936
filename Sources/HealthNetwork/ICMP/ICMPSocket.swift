import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One ICMP socket (raw, or the unprivileged datagram kind) for one address family, shared by every echo of that
/// family, and served by one thread of its own (fping's shape): a send queue paced ``sendInterval`` apart, a map of
/// echoes in flight by sequence number, one deadline heap for every timeout, and `poll(2)` on the socket and a wake
/// descriptor. A caller hands in a batch of echoes (to one address or to a whole round of them) and is resumed once,
/// when every echo of the batch has its outcome: no task, timer or continuation per echo or per address.
final class ICMPSocket: Sendable {
    /// What became of one echo request.
    enum Outcome: Sendable, Hashable {
        case reply(Duration)
        case timeout
        case error(String)
    }

    let family: IPAddress.Family
    let kind: Pinger.SocketKind
    let identifier: UInt16
    private let loop: EchoLoop

    init(
        descriptor: Int32, family: IPAddress.Family, kind: Pinger.SocketKind, identifier: UInt16,
        sendInterval: Duration, payloadBytes: Int
    ) {
        self.family = family
        self.kind = kind
        self.identifier = identifier
        let payload = (0..<payloadBytes).map { UInt8(truncatingIfNeeded: $0 + 0x10) }
        loop = EchoLoop(
            descriptor: descriptor, family: family, kind: kind, identifier: identifier, sendInterval: sendInterval,
            payload: payload)
        loop.start()
    }

    deinit {
        loop.stop()
    }

    /// Sends `count` echo requests to each of `addresses`, `interval` apart, and waits until each has a reply, an
    /// error or went `timeout` unanswered. The outcomes are by address, then in send order: echo `i` to address `a`
    /// is at `a * count + i`. One batch, one continuation, however many addresses.
    func echoes(to addresses: [IPAddress], count: Int, interval: Duration, timeout: Duration) async -> [Outcome] {
        let batch = loop.newBatchID()
        let loop = self.loop
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                loop.submit(
                    batch: batch, addresses: addresses, count: count, interval: interval, timeout: timeout,
                    continuation: continuation)
            }
        } onCancel: {
            loop.cancel(batch: batch)
        }
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

    static func sourceBytes(_ storage: sockaddr_storage) -> [UInt8] {
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

    static func uint16(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt16 {
        let start = bytes.startIndex + offset
        return UInt16(bytes[start]) << 8 | UInt16(bytes[start + 1])
    }
}
