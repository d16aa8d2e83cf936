/// One Swift source file handed to the scanner.
public struct ProbeSource: Sendable {
    public var path: String
    public var text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}

/// A probe type the registry will list: `typeName.self`, registered under `kind`.
public struct RegisteredProbe: Sendable, Hashable {
    /// The name the generated file uses, qualified for nested types (`Outer.InnerProbe`).
    public var typeName: String
    public var kind: String
    public var file: String
    public var line: Int
}

/// Why a conformance to `Probe` cannot be registered, or two probes clash; it fails the build.
public struct ScanProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    /// `file:line: error: message`, the form build logs and editors link.
    public var description: String { "\(file):\(line): error: \(message)" }
}

/// What the scanner found in a module's sources.
public struct ProbeScan: Sendable {
    /// Sorted by kind.
    public var probes: [RegisteredProbe]
    /// Empty when the registry can be generated.
    public var problems: [ScanProblem]
}

/// Finds every type of a module that conforms to `Probe`, the way the compiler would see it, or says why it cannot
/// be registered.
///
/// A type conforms when `Probe` (or `HealthCore.Probe`, `ProbeEventSource`, ProbeKit's `ParameterizedProbe`, a
/// protocol of the module refining them) is in the inheritance list of its `struct`/`class`/`enum`/`actor`
/// declaration or of an `extension`, or when it is
/// a class inheriting from a probe class. It is registered under the `kind: "..."` string literal of its own body or of its
/// extensions' bodies. Refused, each with a message naming file and line: generic types (and types nested in them),
/// types local to a function, private and fileprivate types, extensions of types not declared in the module, a kind
/// that is not a plain string literal or is missing, and a kind claimed twice.
public enum ProbeScanner {
    /// The names a conformance to `Probe` is written with: HealthCore's `Probe` and the protocols refining it there
    /// and in ProbeKit.
    static let probeProtocolNames: Set<String> = [
        "Probe", "HealthCore.Probe", "ProbeEventSource", "HealthCore.ProbeEventSource", "ParameterizedProbe",
        "ProbeKit.ParameterizedProbe",
    ]

    /// Scans `sources` (one module) for probes.
    public static func scan(_ sources: [ProbeSource]) -> ProbeScan {
        var declarations: [Declaration] = []
        for source in sources {
            let tokens = SwiftTokenizer.tokens(source.text)
            var collector = DeclarationCollector(path: source.path, tokens: tokens)
            collector.collectFile()
            declarations += collector.declarations
        }
        return resolve(declarations)
    }

    private static func resolve(_ declarations: [Declaration]) -> ProbeScan {
        let protocols = probeProtocols(declarations)
        let types = Dictionary(
            declarations.filter { $0.keyword.declaresType }.map { ($0.qualifiedName, $0) },
            uniquingKeysWith: { first, _ in first })
        let genericNames = Set(types.values.filter(\.isGeneric).map(\.qualifiedName))
        var problems: [ScanProblem] = []
        var conforming: [String: Declaration] = [:]
        var order: [String] = []
        for declaration in declarations where declaration.keyword != .protocol {
            guard declaration.inheritance.contains(where: protocols.contains) else { continue }
            if conforming[declaration.qualifiedName] == nil { order.append(declaration.qualifiedName) }
            conforming[declaration.qualifiedName] = conforming[declaration.qualifiedName] ?? declaration
        }
        // Subclasses of probe classes conform too.
        var changed = true
        while changed {
            changed = false
            for declaration in declarations where declaration.keyword == .class {
                guard conforming[declaration.qualifiedName] == nil, let superclass = declaration.inheritance.first,
                    conforming[declaration.resolve(superclass, among: types)] != nil
                else { continue }
                conforming[declaration.qualifiedName] = declaration
                order.append(declaration.qualifiedName)
                changed = true
            }
        }
        var probes: [RegisteredProbe] = []
        for name in order {
            guard let conformance = conforming[name] else { continue }
            let problem = { (message: String) in
                problems.append(ScanProblem(file: conformance.file, line: conformance.line, message: message))
            }
            if conformance.isLocal {
                problem("probe \(name) is declared inside a function or closure: the registry cannot name it; "
                    + "declare it at file scope or nested in a type")
                continue
            }
            if let generic = name.prefixes.first(where: genericNames.contains) {
                problem(
                    generic == name
                        ? "probe \(name) is generic: the registry needs one concrete type per kind; conform a "
                            + "non-generic type (e.g. a struct holding the generic one) instead"
                        : "probe \(name) is nested in the generic type \(generic): the registry needs one concrete "
                            + "type per kind; declare it outside")
                continue
            }
            guard let declaration = types[name] else {
                problem("extension \(name): Probe, but \(name) is not declared in this module: its descriptor's kind "
                    + "cannot be read; declare the probe type in this module")
                continue
            }
            if let hidden = declarations.first(where: { $0.qualifiedName == name && $0.isHidden }) {
                problems.append(
                    ScanProblem(
                        file: hidden.file, line: hidden.line,
                        message: "probe \(name) is private or fileprivate (or nested in such a type): the generated "
                            + "registry cannot reach it; make it internal or public"))
                continue
            }
            let bodies = [declaration] + declarations.filter { $0.qualifiedName == name && $0.keyword == .extension }
            switch kind(in: bodies) {
            case .found(let kind):
                probes.append(
                    RegisteredProbe(typeName: name, kind: kind, file: declaration.file, line: declaration.line))
            case .notLiteral(let line):
                problems.append(
                    ScanProblem(
                        file: declaration.file, line: line,
                        message: "probe \(name): its descriptor's kind must be a plain string literal "
                            + "(no interpolation, no constant)"))
            case .missing:
                problem("probe \(name) declares no 'kind: \"...\"' in its descriptor")
            }
        }
        problems += duplicates(probes)
        return ProbeScan(probes: probes.sorted { $0.kind < $1.kind }, problems: problems)
    }

    /// `Probe` and every protocol of the module that refines it.
    private static func probeProtocols(_ declarations: [Declaration]) -> Set<String> {
        var names = probeProtocolNames
        var changed = true
        while changed {
            changed = false
            for declaration in declarations where declaration.keyword == .protocol {
                guard !names.contains(declaration.qualifiedName),
                    declaration.inheritance.contains(where: names.contains)
                else { continue }
                names.insert(declaration.qualifiedName)
                changed = true
            }
        }
        return names
    }

    private enum KindLiteral {
        case found(String)
        case notLiteral(line: Int)
        case missing
    }

    /// The first `kind: "..."` in the bodies, outside nested types.
    private static func kind(in bodies: [Declaration]) -> KindLiteral {
        for body in bodies {
            let tokens = body.tokens
            for index in body.ownBodyIndices
            where tokens[index].isIdentifier("kind") && index + 1 < tokens.count
                && tokens[index + 1].isPunctuation(":")
            {
                guard index + 2 < tokens.count else { continue }
                let value = tokens[index + 2]
                if case .string(interpolated: false) = value.kind, !value.text.isEmpty { return .found(value.text) }
                return .notLiteral(line: value.line)
            }
        }
        return .missing
    }

    private static func duplicates(_ probes: [RegisteredProbe]) -> [ScanProblem] {
        var first: [String: RegisteredProbe] = [:]
        var problems: [ScanProblem] = []
        for probe in probes {
            if let earlier = first[probe.kind] {
                problems.append(
                    ScanProblem(
                        file: probe.file, line: probe.line,
                        message: "probe kind '\(probe.kind)' of \(probe.typeName) is already registered by "
                            + "\(earlier.typeName) at \(earlier.file):\(earlier.line)"))
            } else {
                first[probe.kind] = probe
            }
        }
        return problems
    }
}

extension String {
    /// `A`, `A.B`, `A.B.C` for `A.B.C`.
    var prefixes: [String] {
        let parts = split(separator: ".")
        return (1...max(1, parts.count)).map { parts.prefix($0).joined(separator: ".") }
    }
}
