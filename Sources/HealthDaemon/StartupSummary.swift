import HealthCore

/// The short block `hive-health run` prints once its first plan is made: where the API listens, what the inventory
/// found and from where, the catalogue in force, where the state is kept, and an `aws` command to try.
public struct StartupSummary: Sendable, Hashable {
    public var node: String
    /// `host:port` of the EC2 API, `/metrics` and the fleet page.
    public var apiListen: String
    public var instances: Int
    /// Where the instances came from (`file:PATH`, `qemu-scan`, `hive-kv`).
    public var inventory: String
    public var checks: Int
    /// The catalogue's origin: a checks.d folder, the built-in one, the last good copy, or the shared one.
    public var catalogue: String
    public var environment: String?
    /// Where the state is kept: the state folder, or a JetStream KV bucket.
    public var state: String
    /// NATS servers, or nil without NATS.
    public var nats: String?
    public var region: String
    /// Whether the API checks SigV4 signatures against configured keys.
    public var signed: Bool

    /// The API's base URL (a wildcard listen address is reached on loopback).
    public var endpoint: String {
        var address = apiListen
        if address.hasPrefix("0.0.0.0:") { address = "127.0.0.1:" + address.dropFirst("0.0.0.0:".count) }
        if address.hasPrefix("[::]:") { address = "[::1]:" + address.dropFirst("[::]:".count) }
        return "http://\(address)"
    }

    /// The `aws` command to try: any key works when the API checks no signatures.
    public var awsCommand: String {
        let keys =
            signed
            ? "AWS_ACCESS_KEY_ID=<a key of [health.api.credentials]> AWS_SECRET_ACCESS_KEY=<its secret>"
            : "AWS_ACCESS_KEY_ID=any AWS_SECRET_ACCESS_KEY=any"
        let region = region.isEmpty ? "us-east-1" : region
        return "\(keys) aws ec2 describe-instance-status --include-all-instances --region \(region) "
            + "--endpoint-url \(endpoint)"
    }

    /// The block as printed, one `label: value` a line.
    public var text: String {
        let rows: [(String, String)] = [
            ("api", "\(endpoint)/ (EC2 and CloudWatch APIs, the fleet page), \(endpoint)/metrics, \(endpoint)/healthz"),
            ("inventory", "\(instances) instance\(instances == 1 ? "" : "s") from \(inventory)"),
            (
                "catalogue",
                "\(checks) check\(checks == 1 ? "" : "s") from \(catalogue), environment \(environment ?? "none")"
            ),
            ("state", state),
            ("nats", nats ?? "none (no publishing; state in the local file)"),
            ("try", awsCommand),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        let lines = rows.map { label, value in
            "  " + label + ":" + String(repeating: " ", count: width - label.count + 1) + value
        }
        return (["hive-health is running on node \(node)"] + lines).joined(separator: "\n")
    }
}
