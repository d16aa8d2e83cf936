import Foundation
import HealthCore

/// `viperblock.service`: the Viperblock/EBS service answers on NATS. Sends a read-only describe request (no volume
/// is touched) and passes on any reply; nobody listening or no reply within the timeout is failed.
public struct ViperblockServiceProbe: Probe {
    public static let descriptor = ProbeDescriptor(
        kind: "viperblock.service", category: .system, targets: [.node],
        parameters: [
            ParameterSpec(
                "subject", .string, default: .string("ebs.provider.v1.volume.describe"),
                doc: "The request subject; it must be read-only (a describe), since the request is sent every run."),
            ParameterSpec(
                "payload", .string, default: .string("{\"id\":\"\"}"), doc: "The request body."),
        ],
        timeoutClass: .ebs,
        summary: "the Viperblock/EBS service answers a describe request on NATS (needs NATS)")

    private let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) {
        self.environment = environment
    }

    public func observe(_ request: ProbeRequest) async -> Observation {
        let parameters = CheckParameters(
            request, descriptor: Self.descriptor, runtimeDirectory: environment.runtimeDirectory)
        let subject: String
        let payload: String
        do {
            subject = try parameters.string("subject") ?? "ebs.provider.v1.volume.describe"
            payload = try parameters.string("payload") ?? ""
        } catch {
            return .unknown("\(error)")
        }
        guard let requester = environment.requester else {
            return .unknown("no NATS configured: cannot ask \(subject)")
        }
        let started = ContinuousClock.now
        do {
            // A little under the run's timeout, so the answer (or its absence) is ours to report.
            let wait = request.timeout * 0.9
            _ = try await requester.request(subject: subject, payload: Array(payload.utf8), timeout: wait)
        } catch {
            return .failed("no answer on \(subject): \(error)")
        }
        let elapsed = ContinuousClock.now - started
        let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return .passed("\(subject) answered in \(Int(millis)) ms", values: ["latency_ms": millis])
    }
}
