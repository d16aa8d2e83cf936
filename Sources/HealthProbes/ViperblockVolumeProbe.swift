import Foundation
import HealthCore

/// `viperblock.volume`: a volume's state from the EBS service over NATS (`ebs.provider.v1.volume.describe`,
/// answering `{id, capacity_bytes, state, handle, availability_zone}`). A state among `healthy_states` passes,
/// any other (or an `error` in the reply) fails; no answer is unknown (`viperblock.service` says whether the
/// service itself is down), as is a reply that is not JSON.
public struct ViperblockVolumeProbe: Probe {
    public static let descriptor = ProbeDescriptor(
        kind: "viperblock.volume", category: .ebs, targets: [.volume],
        parameters: [
            ParameterSpec(
                "subject", .string, default: .string("ebs.provider.v1.volume.describe"),
                doc: "The describe request subject."),
            ParameterSpec("volume", .string, default: .string("{{volume.id}}"), doc: "The volume id asked about."),
            ParameterSpec(
                "healthy_states", .stringList, default: .stringList(["in-use", "available", "attached"]),
                doc: "Volume states that pass."),
        ],
        timeoutClass: .ebs,
        summary: "volume state from the EBS service over NATS (needs NATS)")

    private let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) {
        self.environment = environment
    }

    public func observe(_ request: ProbeRequest) async -> Observation {
        let parameters = CheckParameters(
            request, descriptor: Self.descriptor, runtimeDirectory: environment.runtimeDirectory)
        let subject: String
        let volume: String
        let healthy: [String]
        do {
            subject = try parameters.string("subject") ?? "ebs.provider.v1.volume.describe"
            volume = try parameters.string("volume") ?? ""
            healthy = try parameters.stringList("healthy_states") ?? []
        } catch {
            return .unknown("\(error)")
        }
        guard let requester = environment.requester else {
            return .unknown("no NATS configured: cannot ask \(subject)")
        }
        let body = (try? JSONSerialization.data(withJSONObject: ["id": volume])) ?? Data()
        let reply: [UInt8]
        do {
            reply = try await requester.request(subject: subject, payload: Array(body), timeout: request.timeout * 0.9)
        } catch {
            return .unknown("no answer about \(volume) on \(subject): \(error)")
        }
        guard reply.count <= 1024 * 1024,
            let object = try? JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any]
        else {
            return .unknown("the reply about \(volume) is not a JSON object")
        }
        if let error = object["error"] as? String, !error.isEmpty {
            return .failed("\(volume): \(error.prefix(200))")
        }
        guard let state = object["state"] as? String else { return .unknown("the reply about \(volume) has no state") }
        var values: [String: Double] = [:]
        if let capacity = object["capacity_bytes"] as? Double { values["capacity_bytes"] = capacity }
        if healthy.contains(state) { return .passed("\(volume) is \(state)", values: values) }
        return .failed("\(volume) is \(state.prefix(64))", values: values)
    }
}
