import Foundation
import HealthCore
import ProbeKit

/// `viperblock.service`: Spinifex's EBS provider answers on NATS. Sends the read-only `GetCapabilitiesRequest`
/// (`{"schema_version":1}` on `ebs.provider.v1.capabilities`, spinifex/ebsprovider/nats.go, served under the
/// `spinifex-workers` queue group) and passes on a v1 reply without an `error`. Nobody listening, no reply within
/// the timeout, or an error reply (its code in the message) is failed; a reply that is not JSON is failed too,
/// since whatever answered is not a provider hive-health can use.
public struct ViperblockServiceProbe: ParameterizedProbe {
    static let subject: ProbeParameter<String> = .string(
        "subject", default: EBSProviderV1.capabilitiesSubject,
        doc: "The request subject; it must be read-only, since the request is sent every run.")
    static let payload: ProbeParameter<String> = .string(
        "payload", default: #"{"schema_version":1}"#, doc: "The request body.")

    public static let descriptor = ProbeDescriptor(
        kind: "viperblock.service", category: .system, targets: [.node],
        parameters: [subject.spec, payload.spec],
        timeoutClass: .ebs,
        requiresNATS: true,
        summary: "the EBS provider (ebs.provider.v1) answers a capabilities request on NATS")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (subject: String, payload: String)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (subject, payload) = settings
        guard let requester = environment.requester else {
            return .unknown("no NATS configured: cannot ask \(subject)")
        }
        let started = ContinuousClock.now
        let reply: [UInt8]
        do {
            // A little under the run's timeout, so the answer (or its absence) is ours to report.
            reply = try await requester.request(
                subject: subject, payload: Array(payload.utf8), timeout: request.timeout * 0.9)
        } catch {
            return .failed("no answer on \(subject): \(error)")
        }
        let elapsed = ContinuousClock.now - started
        let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        guard let response = EBSProviderV1.Response.decode(reply) else {
            return .failed("\(subject) answered something that is not an ebs.provider.v1 response")
        }
        if let error = response.error {
            return .failed(
                "\(subject) answered error \(String((error.code ?? "unknown").prefix(64))): "
                    + String((error.message ?? "").prefix(200)), values: ["latency_ms": millis])
        }
        return .passed("\(subject) answered in \(Int(millis)) ms", values: ["latency_ms": millis])
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let subject = try parameters.value(Self.subject)
        let payload = try parameters.value(Self.payload)
        return (subject, payload)
    }
}
