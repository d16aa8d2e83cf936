import HealthCore
import HealthNetwork
import ProbeKit

/// `net.icmp`: ICMP echo to the instance's private IP (or, on the node target, the gateway and peer nodes), through
/// the daemon's one shared pinger: one socket per address family for every target.
///
/// Failed when more than `max_loss_percent` of the echoes go unanswered (or the average round trip is above
/// `max_rtt`), naming each address that failed. Unknown when the pinger cannot open a socket ("needs CAP_NET_RAW")
/// or there is no address to ping.
public struct ICMPProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "net.icmp", category: .instance, targets: [.instance, .node],
        parameters: [
            ParameterSpec(
                "address", .string, default: .string(""),
                doc: "The address to ping; empty means the instance's private IP (none on the node target)."),
            ParameterSpec(
                "addresses", .stringList, default: .stringList([]),
                doc: "More addresses, all of which must answer (peer nodes on the node target)."),
            ParameterSpec(
                "gateway", .boolean, default: .boolean(false),
                doc: "Also ping the default gateway from the routing table."),
            ParameterSpec("count", .integer, default: .integer(3), range: 1...20, doc: "Echoes per address."),
            ParameterSpec(
                "interval", .duration, default: .duration(.milliseconds(200)),
                doc: "Time between the echoes to one address."),
            ParameterSpec(
                "max_loss_percent", .number, default: .number(50), range: 0...100,
                doc: "Failed when more than this share of the echoes to an address is lost."),
            ParameterSpec(
                "max_rtt", .duration, default: .duration(.zero),
                doc: "Failed when the average round trip is above this; 0 means no limit."),
            NetworkTargets.netnsParameter,
        ],
        timeoutClass: .network,
        summary: "ICMP echo over one shared socket per family: loss and round-trip time (instance IP, gateway, peers)")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (
        addresses: [String], count: Int, interval: Duration, maxLoss: Double, maxRTT: Duration, namespace: String
    )

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (addresses, count, interval, maxLoss, maxRTT, namespace) = settings
        guard !addresses.isEmpty else {
            return .unknown("no address to ping for \(request.target.id) (no private IP, no gateway, no 'addresses')")
        }
        // Every echo must be answered or given up before the scheduler's timeout.
        let spread = interval * (count - 1)
        let echoTimeout = max(.milliseconds(50), min(.seconds(2), request.timeout * 0.9 - spread))
        let pinger = environment.pinger(namespace: namespace.isEmpty ? nil : namespace)
        let results = await pinger.ping(all: addresses, count: count, interval: interval, timeout: echoTimeout)
        var problems: [String] = []
        // The message names the answering addresses only when there are at most four: the others are counted, not
        // formatted (a round over a thousand addresses would format a thousand strings to throw away).
        var passed: [String] = []
        var passedCount = 0
        var values: [String: Double] = [:]
        var worstLoss = 0.0
        var averages: [Duration] = []
        for (address, result) in zip(addresses, results) {
            let summary: Pinger.Summary
            switch result {
            case .success(let value): summary = value
            case .failure(let error):
                if error.code == .permission {
                    return .unknown("needs CAP_NET_RAW (or ping_group_range for unprivileged ICMP): \(error.message)")
                }
                return .unknown("\(address): \(error.message)")
            }
            worstLoss = max(worstLoss, summary.lossRatio)
            if let average = summary.averageRoundTrip { averages.append(average) }
            let replies = "\(summary.received)/\(summary.sent) replies"
            if summary.lossRatio > maxLoss {
                let errors = summary.errors.isEmpty ? "" : " (" + summary.errors.joined(separator: ", ") + ")"
                problems.append("\(address): \(replies), \(Int(summary.lossRatio * 100))% loss\(errors)")
            } else if maxRTT > .zero, let average = summary.averageRoundTrip, average > maxRTT {
                problems.append(
                    "\(address): rtt avg \(NetworkTargets.milliseconds(average)) over "
                        + NetworkTargets.milliseconds(maxRTT))
            } else {
                passedCount += 1
                if passedCount <= 4 {
                    let rtt = summary.averageRoundTrip.map { ", rtt avg " + NetworkTargets.milliseconds($0) } ?? ""
                    passed.append("\(address): \(replies)\(rtt)")
                }
            }
        }
        values["loss_ratio"] = worstLoss
        if !averages.isEmpty {
            values["rtt_avg_seconds"] = averages.map(\.seconds).reduce(0, +) / Double(averages.count)
        }
        if problems.isEmpty {
            if passedCount <= 4 { return .passed(passed.joined(separator: "; "), values: values) }
            let rtt = values["rtt_avg_seconds"].map { ", rtt avg " + NetworkTargets.milliseconds(.seconds($0)) } ?? ""
            return .passed("all \(passedCount) addresses answered\(rtt)", values: values)
        }
        let shown = problems.prefix(8).joined(separator: "; ")
        let more = problems.count > 8 ? "; and \(problems.count - 8) more" : ""
        let prefix = addresses.count == 1 ? "" : "\(problems.count) of \(addresses.count) addresses failed: "
        return .failed(prefix + shown + more, values: values)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let namespace = try parameters.string("netns") ?? ""
        let address = try parameters.string("address") ?? ""
        let extra = try parameters.stringList("addresses") ?? []
        let gateway = try parameters.boolean("gateway") ?? false
        let environment = self.environment
        let addresses = NetworkTargets.addresses(
            address: address, extra: extra, gateway: gateway, request: request,
            routes: { NetworkTargets.routes(namespace: namespace, environment: environment) })
        let count = try parameters.integer("count") ?? 3
        let interval = try parameters.duration("interval") ?? .milliseconds(200)
        let maxLoss = (try parameters.number("max_loss_percent") ?? 50) / 100
        let maxRTT = try parameters.duration("max_rtt") ?? .zero
        return (addresses, count, interval, maxLoss, maxRTT, namespace)
    }
}
