import HealthCore

/// The checks hive-health runs: every checks.d file merged and validated, with an environment overlay applied.
public struct Catalogue: Sendable, Hashable {
    /// Valid checks from valid files, in file order then definition order.
    public var checks: [CheckDefinition]
    /// The same checks with the origin of every effective setting, for `validate --environment`.
    public var effective: [EffectiveCheck]
    /// The checks.d files read, in load order.
    public var files: [String]
    /// The environment overlay applied, if any.
    public var environment: String?

    public init(checks: [CheckDefinition] = [], effective: [EffectiveCheck] = [], files: [String] = [],
                environment: String? = nil) {
        self.checks = checks
        self.effective = effective
        self.files = files
        self.environment = environment
    }

    /// The check named `name`.
    public func check(named name: String) -> CheckDefinition? { checks.first { $0.name == name } }
}

/// One check as it will run, and where each of its settings came from.
public struct EffectiveCheck: Sendable, Hashable {
    public var check: CheckDefinition
    /// Setting key (`interval`, `thresholds.consecutive_failures`, `params.pid_file`, `when`) -> its origin:
    /// `default`, `hive.toml [health] check_interval`, or the `file:line:column` that set it.
    public var provenance: [String: String]

    public init(check: CheckDefinition, provenance: [String: String]) {
        self.check = check
        self.provenance = provenance
    }
}

/// What loading a catalogue gives: the good checks, and every problem found.
///
/// - Important: errors do not stop loading. A file with errors contributes no checks; the others load, so the
///   daemon can keep running and log the bad files, while `validate` reports them all and exits 1.
public struct CatalogueLoadResult: Sendable {
    public var catalogue: Catalogue
    public var errors: [CatalogueError]

    public init(catalogue: Catalogue, errors: [CatalogueError]) {
        self.catalogue = catalogue
        self.errors = errors
    }

    /// True when nothing was wrong.
    public var isValid: Bool { errors.isEmpty }
}

/// The keys of the checks.d and overlay formats, shared by the loader, the JSON Schema test and the docs.
public enum CatalogueFormat {
    /// Top-level keys of a checks.d file.
    public static let fileKeys = ["checks"]
    /// Keys of one check.
    public static let checkKeys = [
        "name", "description", "category", "probe", "target", "interval", "timeout", "splay", "jitter",
        "thresholds", "params", "when", "enabled",
    ]
    /// Keys of `thresholds` (in a check and in an override).
    public static let thresholdKeys = ["consecutive_failures", "consecutive_successes", "flap_high", "flap_low"]
    /// Top-level keys of an environment overlay file.
    public static let overlayFileKeys = ["overrides"]
    /// Keys of one override.
    public static let overrideKeys = [
        "checks", "interval", "timeout", "splay", "jitter", "thresholds", "params", "enabled", "when", "nodes",
        "labels", "cluster",
    ]
    /// The key negating a `when` selector: `field: {not: [...]}`.
    public static let negationKey = "not"
}
