import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An fping-class pinger: one ICMP socket per address family for every target of the daemon, served by one thread
/// (``ICMPSocket``: a paced send queue, a sequence map to match replies, one deadline heap for the timeouts), its own
/// echo identifier, sends paced at ``sendInterval`` across all targets, round-trip times and loss.
///
/// Raw sockets need CAP_NET_RAW; without it the pinger uses the kernel's unprivileged ICMP datagram sockets (allowed
/// by `net.ipv4.ping_group_range`); where neither opens, ``ping(_:count:interval:timeout:)`` returns a
/// ``NetworkError/Code/permission`` error and the probe says unknown ("needs CAP_NET_RAW"), not failed.
public final class Pinger: Sendable {
    /// Which kind of ICMP socket carries the echoes.
    public enum SocketKind: String, Sendable, Hashable {
        /// `SOCK_RAW`: needs CAP_NET_RAW; sees unreachable errors for our echoes.
        case raw
        /// `SOCK_DGRAM` + `IPPROTO_ICMP`: unprivileged where `ping_group_range` allows it.
        case datagram
    }

    /// What `count` echoes to one address gave.
    public struct Summary: Sendable, Hashable {
        public var address: String
        public var sent: Int
        public var received: Int
        public var roundTrips: [Duration]
        /// Distinct error texts (unreachable, send errors), at most a few.
        public var errors: [String]
        public var socketKind: SocketKind

        public var lossRatio: Double { sent == 0 ? 1 : Double(sent - received) / Double(sent) }
        public var averageRoundTrip: Duration? {
            roundTrips.isEmpty ? nil : roundTrips.reduce(.zero, +) / roundTrips.count
        }
        public var maxRoundTrip: Duration? { roundTrips.max() }
    }

    /// Sends of all targets are at least this far apart (fping's `-i`).
    public let sendInterval: Duration
    private let namespace: String?
    private let preferred: SocketKind?
    private let identifier: UInt16
    private let payloadBytes: Int
    private let logger: Logger
    private let sockets = Mutex<[IPAddress.Family: Result<ICMPSocket, NetworkError>]>([:])

    /// - Parameters:
    ///   - namespace: open the sockets inside this named network namespace (tests; nil: the daemon's own).
    ///   - preferred: force one socket kind (tests); nil tries raw, then datagram.
    public init(
        namespace: String? = nil, preferred: SocketKind? = nil, sendInterval: Duration = .milliseconds(1),
        payloadBytes: Int = 56, logger: Logger
    ) {
        self.namespace = namespace
        self.preferred = preferred
        self.sendInterval = sendInterval
        self.payloadBytes = max(0, min(payloadBytes, 1400))
        self.logger = logger
        self.identifier = UInt16(truncatingIfNeeded: getpid()) ^ UInt16.random(in: 0...UInt16.max)
    }

    /// The socket for `family`, opened on first use; a failure to open is remembered (permissions do not change
    /// while the daemon runs).
    func socket(for family: IPAddress.Family) -> Result<ICMPSocket, NetworkError> {
        sockets.withLock { sockets in
            if let existing = sockets[family] { return existing }
            let preferred = self.preferred
            let opened: Result<(Int32, SocketKind), NetworkError>
            do throws(NetworkError) {
                opened = .success(
                    try NetworkNamespace.run(in: namespace) { () throws(NetworkError) in
                        try ICMPSocket.open(family: family, preferred: preferred)
                    })
            } catch {
                opened = .failure(error)
            }
            let result = opened.map { descriptor, kind in
                ICMPSocket(
                    descriptor: descriptor, family: family, kind: kind, identifier: identifier,
                    sendInterval: sendInterval, payloadBytes: payloadBytes)
            }
            if case .failure(let error) = result {
                logger.warning("cannot open an ICMP socket", metadata: ["error": "\(error)"])
            }
            sockets[family] = result
            return result
        }
    }

    /// Sends `count` echoes to `address`, `interval` apart, each waited for at most `timeout`.
    ///
    /// An unanswered echo is a result (loss), not an error; errors are the pinger's own trouble (bad address, no
    /// socket).
    public func ping(_ address: String, count: Int = 1, interval: Duration = .milliseconds(100), timeout: Duration)
        async -> Result<Summary, NetworkError>
    {
        await ping(all: [address], count: count, interval: interval, timeout: timeout)[0]
    }

    /// What the outcomes of one address's echoes say.
    static func summary(
        _ address: String, _ outcomes: ArraySlice<ICMPSocket.Outcome>, socketKind: SocketKind
    ) -> Summary {
        var summary = Summary(
            address: address, sent: outcomes.count, received: 0, roundTrips: [], errors: [], socketKind: socketKind)
        for outcome in outcomes {
            switch outcome {
            case .reply(let roundTrip):
                summary.received += 1
                summary.roundTrips.append(roundTrip)
            case .timeout: break
            case .error(let text):
                if !summary.errors.contains(text), summary.errors.count < 4 { summary.errors.append(text) }
            }
        }
        return summary
    }

    /// Pings every address of `addresses` at once (paced by the shared sockets): one round of fping, handed to each
    /// family's socket as one batch (one continuation for the round, not a task per address).
    public func ping(
        all addresses: [String], count: Int = 1, interval: Duration = .milliseconds(100), timeout: Duration
    )
        async -> [Result<Summary, NetworkError>]
    {
        let echoes = max(1, min(count, 100))
        var results = [Result<Summary, NetworkError>?](repeating: nil, count: addresses.count)
        var byFamily: [IPAddress.Family: [(index: Int, address: IPAddress)]] = [:]
        for (index, text) in addresses.enumerated() {
            guard let parsed = IPAddress(text) else {
                results[index] = .failure(NetworkError(.invalid, "'\(text.prefix(64))' is not an IPv4 or IPv6 address"))
                continue
            }
            byFamily[parsed.family, default: []].append((index, parsed))
        }
        await withTaskGroup(of: [(Int, Result<Summary, NetworkError>)].self) { group in
            for (family, members) in byFamily {
                group.addTask {
                    let socket: ICMPSocket
                    switch self.socket(for: family) {
                    case .success(let opened): socket = opened
                    case .failure(let error): return members.map { ($0.index, .failure(error)) }
                    }
                    let outcomes = await socket.echoes(
                        to: members.map(\.address), count: echoes, interval: interval, timeout: timeout)
                    guard outcomes.count == members.count * echoes else {
                        let error = NetworkError(.system, "the ICMP round was cut short")
                        return members.map { ($0.index, .failure(error)) }
                    }
                    return members.enumerated().map { position, member in
                        let mine = outcomes[(position * echoes)..<((position + 1) * echoes)]
                        let summary = Self.summary(addresses[member.index], mine, socketKind: socket.kind)
                        return (member.index, .success(summary))
                    }
                }
            }
            for await part in group {
                for (index, result) in part { results[index] = result }
            }
        }
        return results.map { $0 ?? .failure(NetworkError(.system, "lost")) }
    }
}
