import HealthCore
import Logging

let testLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A request for `probe` against one instance (ENI `eni`, tap derived from it).
func instanceRequest(
    _ check: String, eni: String = "eni-0abc1234", mac: String? = nil, ip: String? = nil,
    parameters: [String: ParameterValue], timeout: Duration = .seconds(5)
) -> ProbeRequest {
    let instance = InstanceInfo(id: "i-0123456789", eniID: eni, eniMAC: mac, privateIP: ip)
    return ProbeRequest(
        checkName: check, target: .instance(instance), node: NodeInfo(name: "node1"),
        parameters: ProbeParameters(parameters), timeout: timeout, logger: testLogger)
}
