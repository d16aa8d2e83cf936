import HealthCore

/// A probe that always passes and says which environment it was made with.
struct AlphaProbe: Probe {
    static var descriptor: ProbeDescriptor {
        ProbeDescriptor(
            kind: "test.alpha", category: .system, targets: [.node],
            parameters: [ParameterSpec("limit", .integer, default: .integer(5), doc: "a limit")],
            summary: "always passes")
    }

    let runtimeDirectory: String

    init(environment: ProbeEnvironment) { runtimeDirectory = environment.runtimeDirectory }

    func observe(_ request: ProbeRequest) async -> Observation {
        .passed("alpha saw \(request.target.id) from \(runtimeDirectory)")
    }
}

/// A probe that always fails.
struct BetaProbe: Probe {
    static var descriptor: ProbeDescriptor {
        ProbeDescriptor(
            kind: "test.beta", category: .instance, targets: [.instance, .volume], timeoutClass: .qmp,
            summary: "always fails")
    }

    init(environment: ProbeEnvironment) {}

    func observe(_ request: ProbeRequest) async -> Observation { .failed("beta failed \(request.target.id)") }
}

/// A probe whose kind sorts before the others.
struct AardvarkProbe: Probe {
    static var descriptor: ProbeDescriptor {
        ProbeDescriptor(kind: "test.aardvark", category: .ebs, targets: [.volume], summary: "cannot tell")
    }

    init(environment: ProbeEnvironment) {}

    func observe(_ request: ProbeRequest) async -> Observation { .unknown("aardvark cannot tell") }
}

/// A second type that claims ``AlphaProbe``'s kind.
struct AlphaImpostorProbe: Probe {
    static var descriptor: ProbeDescriptor {
        ProbeDescriptor(kind: "test.alpha", category: .instance, targets: [.instance], summary: "impostor")
    }

    init(environment: ProbeEnvironment) {}

    func observe(_ request: ProbeRequest) async -> Observation { .failed("impostor") }
}
