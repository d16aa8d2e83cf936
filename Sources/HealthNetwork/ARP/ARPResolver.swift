import CNetworkShim
import Foundation
import HealthIO

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// ARP resolution of one IPv4 address on one interface over an AF_PACKET socket: a broadcast request, the reply
/// matched on the sender's IP. Independent of the kernel's neighbour cache, so a stale entry cannot hide a gone host.
public enum ARPResolver {
    /// What one resolution saw.
    public enum Answer: Sendable, Hashable {
        /// A reply from `mac` (`aa:bb:cc:dd:ee:ff`) after `latency`.
        case reply(mac: String, latency: Duration)
        /// No reply after all attempts.
        case noReply(attempts: Int)
        /// The interface cannot send (down, no carrier): a failed path, not the resolver's trouble.
        case interfaceDown(String)
    }

    /// Resolves `address` on `interface`, `attempts` requests spread over `timeout`. Errors are the resolver's own
    /// trouble (no permission, no such interface, bad address). Blocks a thread of ``BlockingPool``, not the caller's.
    public static func resolve(
        _ address: String, interface: String, timeout: Duration, attempts: Int = 3, namespace: String? = nil
    ) async -> Result<Answer, NetworkError> {
        guard let target = IPAddress(address), target.family == .v4 else {
            return .failure(NetworkError(.invalid, "'\(address.prefix(64))' is not an IPv4 address (ARP is IPv4 only)"))
        }
        guard !interface.isEmpty, interface.utf8.count < Int(IFNAMSIZ) else {
            return .failure(NetworkError(.invalid, "interface name '\(interface.prefix(32))' is empty or too long"))
        }
        let tries = max(1, min(attempts, 10))
        return await BlockingPool.run { _ in
            Result { () throws(NetworkError) -> Answer in
                try NetworkNamespace.run(in: namespace) { () throws(NetworkError) in
                    try exchange(target: target, interface: interface, timeout: timeout, attempts: tries)
                }
            }
        }
    }

    private static let broadcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]

    private static func exchange(target: IPAddress, interface: String, timeout: Duration, attempts: Int)
        throws(NetworkError) -> Answer
    {
        let protocolARP = UInt16(hive_health_ethertype_arp).bigEndian
        let fd = socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(protocolARP))
        guard fd >= 0 else {
            let code = errno
            throw NetworkError(
                code == EPERM || code == EACCES ? .permission : .system,
                "AF_PACKET socket: \(String(cString: strerror(code)))"
                    + (code == EPERM || code == EACCES ? " (needs CAP_NET_RAW)" : ""))
        }
        defer { close(fd) }
        var request = ifreq()
        setName(&request, interface)
        guard ioctl(fd, UInt(SIOCGIFINDEX), &request) == 0 else {
            throw NetworkError(.invalid, "interface \(interface): \(String(cString: strerror(errno)))")
        }
        let index = request.ifr_ifru.ifru_ivalue
        setName(&request, interface)
        guard ioctl(fd, UInt(SIOCGIFHWADDR), &request) == 0 else {
            throw NetworkError(
                .system, "interface \(interface): no hardware address: \(String(cString: strerror(errno)))")
        }
        let ownMAC = withUnsafeBytes(of: request.ifr_ifru.ifru_hwaddr.sa_data) { Array($0.prefix(6)) }
        setName(&request, interface)
        var ownIP: [UInt8] = [0, 0, 0, 0]
        if ioctl(fd, UInt(SIOCGIFADDR), &request) == 0 {
            // An interface without IPv4 sends an ARP probe (sender 0.0.0.0, RFC 5227): hosts answer it too.
            ownIP = withUnsafeBytes(of: request.ifr_ifru.ifru_addr) { raw in
                raw.withMemoryRebound(to: sockaddr_in.self) { withUnsafeBytes(of: $0[0].sin_addr) { Array($0) } }
            }
        }
        setName(&request, interface)
        if ioctl(fd, UInt(SIOCGIFFLAGS), &request) == 0 {
            let flags = Int32(request.ifr_ifru.ifru_flags)
            if flags & Int32(IFF_UP) == 0 { return .interfaceDown("\(interface) is administratively down") }
            if flags & Int32(IFF_RUNNING) == 0 { return .interfaceDown("\(interface) has no carrier") }
        }
        var link = sockaddr_ll()
        link.sll_family = UInt16(AF_PACKET)
        link.sll_protocol = protocolARP
        link.sll_ifindex = index
        let bound = withUnsafePointer(to: &link) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_ll>.size))
            }
        }
        guard bound == 0 else {
            throw NetworkError(.system, "bind to \(interface): \(String(cString: strerror(errno)))")
        }
        var packet: [UInt8] = [0, 1, 0x08, 0x00, 6, 4, 0, 1]
        packet += ownMAC + ownIP + [0, 0, 0, 0, 0, 0] + target.bytes
        link.sll_halen = 6
        withUnsafeMutableBytes(of: &link.sll_addr) { $0.copyBytes(from: broadcast + [0, 0]) }

        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: timeout)
        let step = timeout / attempts
        var buffer = [UInt8](repeating: 0, count: 1500)
        for attempt in 0..<attempts {
            let sent = packet.withUnsafeBytes { raw in
                withUnsafePointer(to: &link) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_ll>.size))
                    }
                }
            }
            if sent < 0 {
                let code = errno
                // ENOBUFS: the kernel noticed the lost carrier before the interface flags say so.
                if code == ENETDOWN || code == ENXIO || code == ENOBUFS {
                    let reason = code == ENOBUFS ? "cannot send (no carrier?)" : String(cString: strerror(code))
                    return .interfaceDown("\(interface): \(reason)")
                }
                throw NetworkError(.system, "send on \(interface): \(String(cString: strerror(code)))")
            }
            let attemptEnd =
                attempt == attempts - 1 ? deadline : min(deadline, start.advanced(by: step * (attempt + 1)))
            // Bounded: each pass waits or reads one frame; a flood of foreign ARP is cut off at the deadline.
            for _ in 0..<100_000 {
                let left = attemptEnd - clock.now
                guard left > .zero else { break }
                var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let waitMs = Int32(
                    max(
                        1,
                        min(1000, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
                )
                let ready = poll(&descriptor, 1, waitMs)
                if ready < 0, errno == EINTR { continue }
                guard ready > 0 else { continue }
                let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                guard count >= 28 else { continue }
                let frame = buffer[0..<count]
                // htype 1, ptype IPv4, hlen 6, plen 4, op 2 (reply), sender IP == target.
                guard frame[0] == 0, frame[1] == 1, frame[2] == 0x08, frame[3] == 0, frame[4] == 6, frame[5] == 4,
                    frame[6] == 0, frame[7] == 2, Array(frame[14..<18]) == target.bytes
                else { continue }
                let mac = frame[8..<14].map { String(format: "%02x", $0) }.joined(separator: ":")
                return .reply(mac: mac, latency: clock.now - start)
            }
        }
        return .noReply(attempts: attempts)
    }

    private static func setName(_ request: inout ifreq, _ name: String) {
        request = ifreq()
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { raw in
            let bytes = Array(name.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
    }
}
