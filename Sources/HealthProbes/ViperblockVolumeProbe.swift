import Foundation
import HealthCore
import ProbeKit

/// `viperblock.volume`: a volume's state from Spinifex's EBS provider (`ebs.provider.v1`, spinifex/ebsprovider/
/// nats.go `GetVolume`): a `GetVolumeRequest` to the owner subject `ebs.provider.v1.owner.<vol>.volume.describe`
/// first, then, when nobody owns it there, to the queue subject `ebs.provider.v1.volume.describe`.
///
/// A `volume.state` among `healthy_states` passes, any other fails; an `error` in the reply fails with its code
/// (`not_found`, `internal`...), except `unavailable`, the provider's "ask again later", which is unknown. No
/// answer is unknown (`viperblock.service` says whether the service itself is down), as is a reply that is not a
/// v1 response.
public struct ViperblockVolumeProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "viperblock.volume", category: .ebs, targets: [.volume],
        parameters: [
            ParameterSpec(
                "subject", .string, default: .string(EBSProviderV1.describeSubject),
                doc: "The describe queue subject, asked when the owner subject has no responder."),
            ParameterSpec(
                "owner_first", .boolean, default: .boolean(true),
                doc: "Ask ebs.provider.v1.owner.<volume>.volume.describe first, as Spinifex's own client does."),
            ParameterSpec("volume", .string, default: .string("{{volume.id}}"), doc: "The volume id asked about."),
            ParameterSpec(
                "handle", .string, default: .string(""), doc: "The provider's handle of the volume, if known."),
            ParameterSpec(
                "healthy_states", .stringList, default: .stringList(["in-use", "available"]),
                doc: "Volume states that pass (Spinifex's VolumeState: available, in-use)."),
        ],
        timeoutClass: .ebs,
        requiresNATS: true,
        summary: "volume state from the EBS provider (ebs.provider.v1) over NATS")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (subject: String, ownerFirst: Bool, volume: String, handle: String, healthy: [String])

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (subject, ownerFirst, volume, handle, healthy) = settings
        guard let requester = environment.requester else {
            return .unknown("no NATS configured: cannot ask \(subject)")
        }
        let body = EBSProviderV1.encode(
            EBSProviderV1.GetVolumeRequest(volumeID: volume, handle: handle.isEmpty ? nil : handle))
        let started = ContinuousClock.now
        let deadline = started.advanced(by: request.timeout * 0.9)
        var reply: [UInt8]?
        var asked = subject
        if ownerFirst, let owner = EBSProviderV1.ownerDescribeSubject(volume: volume) {
            do throws(MessageRequestError) {
                reply = try await requester.request(subject: owner, payload: body, timeout: request.timeout * 0.45)
                asked = owner
            } catch {
                // Only "nobody owns it there" falls through to the queue, as in Spinifex's requestOwnerFirst.
                guard error.code == .noResponders else {
                    return .unknown("no answer about \(volume) on \(owner): \(error)")
                }
            }
        }
        if reply == nil {
            do {
                let left = max(deadline - ContinuousClock.now, .milliseconds(100))
                reply = try await requester.request(subject: subject, payload: body, timeout: left)
            } catch {
                return .unknown("no answer about \(volume) on \(subject): \(error)")
            }
        }
        guard let reply, let response = EBSProviderV1.Response.decode(reply) else {
            return .unknown("the reply about \(volume) on \(asked) is not an ebs.provider.v1 GetVolumeResponse")
        }
        guard response.schemaVersion == EBSProviderV1.schemaVersion else {
            return .unknown("\(asked) answered schema_version \(response.schemaVersion.map(String.init) ?? "none"), "
                + "not \(EBSProviderV1.schemaVersion)")
        }
        if let error = response.error {
            let code = String((error.code ?? "unknown").prefix(64))
            let message = "\(volume): \(code): \(String((error.message ?? "").prefix(200)))"
            return error.isRetryable ? .unknown(message) : .failed(message)
        }
        guard let state = response.volume?.state else {
            return .unknown("the reply about \(volume) on \(asked) has no volume state")
        }
        var values: [String: Double] = [:]
        if let capacity = response.volume?.capacityBytes { values["capacity_bytes"] = Double(capacity) }
        if healthy.contains(state) { return .passed("\(volume) is \(state)", values: values) }
        return .failed("\(volume) is \(state.prefix(64))", values: values)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let subject = try parameters.string("subject") ?? EBSProviderV1.describeSubject
        let ownerFirst = try parameters.boolean("owner_first") ?? true
        let volume = try parameters.string("volume") ?? ""
        let handle = try parameters.string("handle") ?? ""
        let healthy = try parameters.stringList("healthy_states") ?? []
        return (subject, ownerFirst, volume, handle, healthy)
    }
}
