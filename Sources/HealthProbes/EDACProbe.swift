import HealthCore
import ProbeKit

/// `host.edac`: memory errors counted by the kernel's EDAC memory controllers (`/sys/devices/system/edac/mc`).
public struct EDACProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "host.edac", category: .system, targets: [.node],
        parameters: [
            ParameterSpec(
                "fail_on_existing_ue", .boolean, default: .boolean(true),
                doc: "When true, any non-zero uncorrectable error count fails; when false, only a count that rose "
                    + "since the previous run fails."),
            ParameterSpec(
                "max_ce_per_run", .integer, default: .integer(1000), range: 0...9.2e18,
                doc: "Failed when correctable errors, summed over all controllers, grew by more than this since the "
                    + "previous run (the first run only records)."),
            ParameterSpec(
                "require_edac", .boolean, default: .boolean(false),
                doc: "When true, a node without EDAC memory controllers is unknown, not passed."),
        ],
        summary: "uncorrectable (and bursts of correctable) memory errors from EDAC")

    static let maxControllers = 4096

    private struct Counts: Sendable {
        var uncorrectable: [String: UInt64] = [:]
        var correctable: [String: UInt64] = [:]
    }

    public let environment: ProbeEnvironment
    private let memory = PerCheckMemory<Counts>()

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (failOnExisting: Bool, maxCE: Int, requireEDAC: Bool)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (failOnExisting, maxCE, requireEDAC) = settings

        let root = environment.hostPath("/sys/devices/system/edac/mc")
        var controllers: [String] = []
        switch HostFile.numberedEntries(root, prefix: "mc", limit: Self.maxControllers * 4) {
        case .success(let names): controllers = Array(names.prefix(Self.maxControllers))
        case .failure(let error) where error.code == .missing: break
        case .failure(let error): return .unknown("cannot list \(error)")
        }
        if controllers.isEmpty {
            return requireEDAC
                ? .unknown("no EDAC memory controllers (require_edac is set)")
                : .passed("no EDAC memory controllers")
        }

        var now = Counts()
        for controller in controllers {
            for (file, isUE) in [("ue_count", true), ("ce_count", false)] {
                switch HostFile.integer("\(root)/\(controller)/\(file)") {
                case .success(let count) where count >= 0:
                    if isUE { now.uncorrectable[controller] = UInt64(count) } else {
                        now.correctable[controller] = UInt64(count)
                    }
                case .success(let count):
                    return .unknown("\(root)/\(controller)/\(file): negative count \(count)")
                case .failure(let error):
                    return .unknown("cannot read \(error)")
                }
            }
        }

        let previous: Counts? = memory.update(request.stateKey, now: .now) { stored in
            defer { stored = now }
            return stored
        }
        let totalUE = now.uncorrectable.values.reduce(0, &+)
        let totalCE = now.correctable.values.reduce(0, &+)
        var values: [String: Double] = ["ue_count": Double(totalUE), "ce_count": Double(totalCE)]

        var problems: [String] = []
        let withUE = now.uncorrectable.filter { $0.value > 0 }.sorted { $0.key < $1.key }
        if failOnExisting, !withUE.isEmpty {
            problems.append(
                "uncorrectable memory errors: "
                    + withUE.map { "\($0.key) ue_count=\($0.value)" }.joined(separator: ", "))
        } else if let previous {
            let rose = now.uncorrectable.filter { controller, count in
                count > (previous.uncorrectable[controller] ?? 0)
            }
            if !rose.isEmpty {
                problems.append(
                    "new uncorrectable memory errors: "
                        + rose.sorted { $0.key < $1.key }.map {
                            "\($0.key) ue_count \(previous.uncorrectable[$0.key] ?? 0) -> \($0.value)"
                        }.joined(separator: ", "))
            }
        }
        var ceDelta: UInt64?
        if let previous {
            var delta: UInt64 = 0
            for (controller, count) in now.correctable {
                // A count that went down was reset (driver reload): nothing new is known for this run.
                if let before = previous.correctable[controller], count > before { delta &+= count - before }
            }
            ceDelta = delta
            values["ce_delta"] = Double(delta)
            if delta > UInt64(maxCE) {
                problems.append("\(delta) correctable memory errors since the previous run (max \(maxCE))")
            }
        }
        if problems.isEmpty {
            let growth = ceDelta.map { ", \($0) new since the previous run" } ?? " (first run: recorded)"
            return .passed(
                "\(controllers.count) memory controller(s): \(totalUE) uncorrectable, \(totalCE) correctable errors"
                    + growth,
                values: values)
        }
        return .failed(problems.joined(separator: "; "), values: values)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let failOnExisting = try parameters.boolean("fail_on_existing_ue") ?? true
        let maxCE = try parameters.integer("max_ce_per_run") ?? 1000
        let requireEDAC = try parameters.boolean("require_edac") ?? false
        return (failOnExisting, maxCE, requireEDAC)
    }
}
