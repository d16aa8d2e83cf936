import Foundation

/// How to reach NATS: from hive.toml / spinifex.toml `[nodes.<node>.nats]` (`host`, `cacert`, `acl.token`) plus
/// connection behaviour.
public struct NATSConfiguration: Sendable, Hashable {
    /// `nats://host:port` (a bare `host:port`, as Hive writes it, is accepted by ``init(host:token:)``), or several
    /// such URLs separated by commas: the servers of a NATS cluster, any of which the connection may use.
    public var url: String
    public var token: String?
    /// `[nodes.<node>.nats] cacert`: a PEM file of the CA that signed the server's certificate. When set, the
    /// connection speaks TLS (Spinifex's nats-server has `tls {}`) and refuses a server this CA did not sign.
    public var caCertificateFile: String?
    /// The name the server's certificate must carry (its SAN), when it is not the host of the URL; nil checks the
    /// URL's host when that is a DNS name (an IP literal is verified by the CA chain alone, see docs/hive.md).
    public var expectedHostname: String?
    /// The connection name the server shows (`connz`).
    public var name = "hive-health"
    /// How long one connection attempt may take.
    public var connectTimeout: Duration = .seconds(2)
    /// Reconnect delays grow from this, doubling per attempt...
    public var reconnectBase: Duration = .milliseconds(100)
    /// ...up to this; attempts never stop while the connection is not closed.
    public var reconnectMax: Duration = .seconds(5)
    /// Bytes libnats keeps for plain publishes made while disconnected (JetStream publishes need the server).
    public var reconnectBufferBytes = 8 * 1024 * 1024
    public var pingInterval: Duration = .seconds(10)
    /// JetStream API and KV operations wait this long for the server.
    public var jetStreamTimeout: Duration = .seconds(5)
    /// Messages a subscription's handler may have pending inside libnats before libnats drops (and counts) more.
    public var pendingMessagesLimit = 65_536
    /// Replicas of every KV bucket and stream this connection creates (`[health.nats] replicas`): 1 on a single
    /// server, 3 on a three-server cluster. A bucket or stream that already exists keeps its own.
    public var replicas = 1

    /// The servers in ``url``, each a `nats://` URL (a comma-separated list, or one URL).
    public var servers: [String] {
        url.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { $0.contains("://") ? $0 : "nats://" + $0 }
    }

    public init(url: String, token: String? = nil, caCertificateFile: String? = nil) {
        self.url = url
        self.token = token
        self.caCertificateFile = caCertificateFile
    }

    /// From hive.toml's `[nodes.<node>.nats] host` (`host:port`, or a `nats://` URL, or several of either separated
    /// by commas, as NATS clients take a cluster's servers), `acl.token` and `cacert`.
    public init(host: String, token: String?, caCertificateFile: String? = nil) {
        let urls = host.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { $0.contains("://") ? $0 : "nats://" + $0 }
        self.init(
            url: urls.joined(separator: ","), token: token.flatMap { $0.isEmpty ? nil : $0 },
            caCertificateFile: caCertificateFile.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The host name TLS checks in the server's certificate: ``expectedHostname``, else the first server's host when
    /// it is a DNS name (not an IPv4/IPv6 literal) and the only server (a cluster's servers carry different names).
    var verifiedHostname: String? {
        if let expectedHostname, !expectedHostname.isEmpty { return expectedHostname }
        guard servers.count == 1, let first = servers.first, let host = URLComponents(string: first)?.host,
            !host.isEmpty
        else {
            return nil
        }
        let isIPv4 = host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
        let isIPv6 = host.contains(":") || host.hasPrefix("[")
        return isIPv4 || isIPv6 ? nil : host
    }
}

extension Duration {
    /// Whole milliseconds (rounded down, at least 1 for a positive duration).
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return millis == 0 && self > .zero ? 1 : millis
    }
}
