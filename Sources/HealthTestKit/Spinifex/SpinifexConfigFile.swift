import Foundation

/// Spinifex's own `/etc/spinifex/spinifex.toml`, rendered from its template: cmd/spinifex/cmd/templates/spinifex.toml
/// of mulgadc/spinifex at ddf22cacfb0bd8c836583924a2a0acc359704cf6, with the template's fields filled in and its
/// optional blocks (operator, external pools, bootstrap, northstar, remote nodes) left out, as `spx admin init`
/// writes it for a single node in dev-networking mode. A `[health]` section, when given, is appended.
public struct SpinifexConfigFile: Sendable {
    public var node: String
    public var region: String
    public var availabilityZone: String
    /// `[nodes.<node>.nats] host`: `host:port` of the (TLS) nats-server.
    public var natsHost: String
    /// `[nodes.<node>.nats] cacert`.
    public var caCertificate: String
    /// `[nodes.<node>.nats.acl] token`.
    public var token: String
    public var dataDirectory: String
    public var accountID = "000000000000"

    public init(
        node: String, region: String = "ap-southeast-2", availabilityZone: String = "ap-southeast-2a",
        natsHost: String, caCertificate: String, token: String, dataDirectory: String
    ) {
        self.node = node
        self.region = region
        self.availabilityZone = availabilityZone
        self.natsHost = natsHost
        self.caCertificate = caCertificate
        self.token = token
        self.dataDirectory = dataDirectory
    }

    /// The file's text, with `health` (a `[health]` section and its tables) appended when given.
    public func render(health: String? = nil) -> String {
        let bind = natsHost.split(separator: ":").first.map(String.init) ?? "127.0.0.1"
        var text = """
            # Domain configuration file in TOML format.
            version = "4"
            epoch = 1
            node = "\(node)"

            [aws]
            region = "\(region)"
            internal_suffix = "spinifex.internal"

            [network]
            ipsec_enabled = false

            [nodes.\(node)]
            node = "\(node)"
            host = "\(bind)"
            region = "\(region)"
            az = "\(availabilityZone)"
            data_dir = "\(dataDirectory)"
            services = ["nats", "predastore", "viperblock", "daemon", "awsgw"]

            account_id = "\(accountID)"

            [nodes.\(node).daemon]
            host = "\(bind):4432"
            tlskey = "config/server.key"
            tlscert = "config/server.pem"
            dev_networking = true

            [nodes.\(node).awsgw]
            host = "0.0.0.0:9999"
            tlskey = "config/server.key"
            tlscert = "config/server.pem"
            debug = false
            config = "awsgw/awsgw.toml"

            [nodes.\(node).nats]
            host = "\(natsHost)"
            cacert = "\(caCertificate)"

            [nodes.\(node).nats.acl]
            token = "\(token)"

            [nodes.\(node).nats.sub]

            [nodes.\(node).viperblock]
            shardwal = false
            gc_enabled = true

            [nodes.\(node).ebs]
            provider = "viperblockd"

            [nodes.\(node).vpcd]
            ovn_nb_addr = "tcp:\(bind):6641"
            ovn_sb_addr = "tcp:\(bind):6642"

            [nodes.\(node).predastore]
            host = "0.0.0.0:8443"
            region = "\(region)"
            bucket = "predastore"
            accesskey = "AKIAEXAMPLE"
            secretkey = "example-secret"

            """
        if let health { text += "\n" + health + "\n" }
        return text
    }
}
