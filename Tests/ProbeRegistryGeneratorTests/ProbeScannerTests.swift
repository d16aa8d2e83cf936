import Foundation
import ProbeRegistryScanner
import Testing

@Suite("probe registry scanner: every way a type conforms is registered or refused with file:line")
struct ProbeScannerTests {
    func scan(_ files: [String: String]) -> ProbeScan {
        ProbeScanner.scan(files.sorted { $0.key < $1.key }.map { ProbeSource(path: $0.key, text: $0.value) })
    }

    func scan(_ text: String) -> ProbeScan { scan(["Probe.swift": text]) }

    func registered(_ scan: ProbeScan) -> [String: String] {
        Dictionary(uniqueKeysWithValues: scan.probes.map { ($0.typeName, $0.kind) })
    }

    @Test("struct, class, enum, actor register with Probe (ProbeEventSource, ParameterizedProbe) anywhere in the list")
    func declarationForms() {
        let result = scan(
            """
            public struct A: Probe { static let descriptor = ProbeDescriptor(kind: "a.kind", category: .system) }
            class B: Sendable, Probe { static let descriptor = ProbeDescriptor(kind: "b.kind") }
            public final class C: NSObject, @unchecked Sendable, Probe {
                static let descriptor = ProbeDescriptor(kind: "c.kind")
            }
            enum D: CaseIterable, HealthCore.Probe { static let descriptor = ProbeDescriptor(kind: "d.kind") }
            actor E
                : Probe
            {
                static let descriptor = ProbeDescriptor(kind: "e.kind")
            }
            struct F: Hashable, @retroactive Probe where Self: Sendable { static let d = X(kind: "f.kind") }
            struct G: ProbeEventSource { static let descriptor = ProbeDescriptor(kind: "g.kind") }
            struct H: ProbeKit.ParameterizedProbe { static let descriptor = ProbeDescriptor(kind: "h.kind") }
            struct NotAProbe: Hashable { static let descriptor = ProbeDescriptor(kind: "no.kind") }
            """)
        #expect(result.problems.isEmpty)
        #expect(
            registered(result) == [
                "A": "a.kind", "B": "b.kind", "C": "c.kind", "D": "d.kind", "E": "e.kind", "F": "f.kind", "G": "g.kind",
                "H": "h.kind",
            ])
        #expect(result.probes.first { $0.typeName == "E" }?.line == 7)
    }

    @Test("extension X: Probe registers X, its kind read from the type's body or the extension's")
    func extensionConformance() {
        let result = scan([
            "Declared.swift": """
            struct FromBody { static let descriptor = ProbeDescriptor(kind: "body.kind") }
            struct FromExtension {}
            """,
            "Conformances.swift": """
            extension FromBody: Probe {}
            extension FromExtension: Sendable, Probe {
                static let descriptor = ProbeDescriptor(kind: "extension.kind")
            }
            """,
        ])
        #expect(result.problems.isEmpty)
        #expect(registered(result) == ["FromBody": "body.kind", "FromExtension": "extension.kind"])
    }

    @Test("a generic probe is refused naming file and line; so is a probe nested in a generic type")
    func genericRefused() {
        let result = scan(
            """
            import HealthCore

            struct Wrapper<Inner: Sendable>: Probe {
                static let descriptor = ProbeDescriptor(kind: "generic.kind")
            }
            struct Box<T> {
                struct Inside: Probe { static let descriptor = ProbeDescriptor(kind: "inside.kind") }
            }
            """)
        #expect(result.probes.isEmpty)
        let messages = result.problems.map(\.description)
        #expect(messages.count == 2)
        #expect(messages.contains { $0.hasPrefix("Probe.swift:3: error: probe Wrapper is generic") })
        #expect(messages.contains { $0.hasPrefix("Probe.swift:7: error: probe Box.Inside is nested in the generic") })
    }

    @Test("a nested probe registers with its qualified name, through extensions too")
    func nestedQualified() {
        let result = scan(
            """
            enum Site {
                struct RaidProbe: Probe { static let descriptor = ProbeDescriptor(kind: "site.raid") }
            }
            extension Site {
                final class FanProbe: Probe { static let descriptor = ProbeDescriptor(kind: "site.fan") }
            }
            """)
        #expect(result.problems.isEmpty)
        #expect(registered(result) == ["Site.RaidProbe": "site.raid", "Site.FanProbe": "site.fan"])
        let source = RegistrySource.generate(module: "SiteProbes", probes: result.probes)
        #expect(source.contains("        Site.FanProbe.self,  // site.fan\n"))
        #expect(source.contains("public enum SiteProbesRegistry"))
    }

    @Test("declarations inside comments and string literals are not registered")
    func commentsAndStrings() {
        let result = scan(
            #"""
            // struct LineComment: Probe { kind: "line.kind" }
            /* outer /* struct Nested: Probe { kind: "nested.kind" } */ still a comment: struct Q: Probe {} */
            let text = "struct InString: Probe { kind: \"string.kind\" } \(value("struct X: Probe {"))"
            let block = """
                struct InMultiline: Probe { static let d = D(kind: "multi.kind") }
                """
            let raw = #"struct InRaw: Probe { kind: "raw.kind" } \#(1)"#
            let regex = #/struct InRegex: Probe \{/#
            struct Real: Probe { static let descriptor = ProbeDescriptor(kind: "real.kind") }
            """#)
        #expect(result.problems.isEmpty)
        #expect(registered(result) == ["Real": "real.kind"])
        #expect(result.probes.first?.line == 9)
    }

    @Test("two probes claiming one kind fail, naming both files")
    func duplicateKinds() {
        let result = scan([
            "One.swift": "struct One: Probe { static let descriptor = ProbeDescriptor(kind: \"same\") }",
            "Two.swift": "\n\nstruct Two: Probe { static let descriptor = ProbeDescriptor(kind: \"same\") }",
        ])
        #expect(result.problems.map(\.description) == [
            "Two.swift:3: error: probe kind 'same' of Two is already registered by One at One.swift:1"
        ])
    }

    @Test("a kind that is missing or not a plain literal is refused")
    func unreadableKinds() {
        let result = scan(
            """
            struct NoKind: Probe { static let descriptor = make() }
            struct Computed: Probe {
                static let name = "x"
                static let descriptor = ProbeDescriptor(kind: "\\(name).kind")
            }
            struct Constant: Probe { static let descriptor = ProbeDescriptor(kind: Self.name) }
            """)
        #expect(result.probes.isEmpty)
        let messages = result.problems.map(\.description)
        #expect(messages.contains("Probe.swift:1: error: probe NoKind declares no 'kind: \"...\"' in its descriptor"))
        #expect(messages.contains { $0.hasPrefix("Probe.swift:4: error: probe Computed: its descriptor's kind must") })
        #expect(messages.contains { $0.hasPrefix("Probe.swift:6: error: probe Constant: its descriptor's kind must") })
    }

    @Test("private, fileprivate and function-local probes are refused: the registry could not name them")
    func unreachableRefused() {
        let result = scan(
            """
            private struct Hidden: Probe { static let descriptor = ProbeDescriptor(kind: "hidden") }
            fileprivate enum Outer {
                struct Inner: Probe { static let descriptor = ProbeDescriptor(kind: "inner") }
            }
            func make() {
                struct Local: Probe { static let descriptor = ProbeDescriptor(kind: "local") }
            }
            """)
        #expect(result.probes.isEmpty)
        let messages = result.problems.map(\.description)
        #expect(messages.count == 3)
        #expect(messages.contains { $0.hasPrefix("Probe.swift:1: error: probe Hidden is private or fileprivate") })
        #expect(messages.contains { $0.hasPrefix("Probe.swift:3: error: probe Outer.Inner is private or fileprivate") })
        #expect(messages.contains { $0.hasPrefix("Probe.swift:6: error: probe Local is declared inside a function") })
    }

    @Test("conformance through a protocol refining Probe, and through a probe superclass, registers")
    func indirectConformance() {
        let result = scan(
            """
            protocol SiteProbe: Probe {}
            protocol RackProbe: SiteProbe {}
            struct ViaProtocol: RackProbe { static let descriptor = ProbeDescriptor(kind: "via.protocol") }
            class BaseProbe: Probe { class var descriptor: ProbeDescriptor { ProbeDescriptor(kind: "base") } }
            final class Derived: BaseProbe {
                override class var descriptor: ProbeDescriptor { ProbeDescriptor(kind: "derived") }
            }
            """)
        #expect(result.problems.isEmpty)
        #expect(registered(result) == ["ViaProtocol": "via.protocol", "BaseProbe": "base", "Derived": "derived"])
    }

    @Test("an extension conforming a type declared elsewhere is refused: its kind cannot be read")
    func foreignExtensionRefused() {
        let result = scan("\nextension OtherModule.Thing: Probe {}\n")
        #expect(result.problems.map(\.description) == [
            "Probe.swift:2: error: extension OtherModule.Thing: Probe, but OtherModule.Thing is not declared in this "
                + "module: its descriptor's kind cannot be read; declare the probe type in this module"
        ])
    }

    @Test("class members named like declarations are not declarations")
    func keywordsAsModifiers() {
        let result = scan(
            """
            final class Shared: Probe {
                static let descriptor = ProbeDescriptor(kind: "shared")
                class func make() -> Shared { Shared() }
                let actor: Int = 1
                var extension = 2
            }
            """)
        #expect(result.problems.isEmpty)
        #expect(registered(result) == ["Shared": "shared"])
    }

    @Test("the package's own probe sources scan clean: every built-in and site probe is registered")
    func packageSources() throws {
        let sources = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "../../Sources")
        func files(_ module: String) throws -> [ProbeSource] {
            let root = sources.appending(path: module).standardizedFileURL.resolvingSymlinksInPath()
            let paths = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? []
            #expect(!paths.isEmpty, "no sources under \(root.path)")
            return try paths.filter { $0.hasSuffix(".swift") }.map {
                ProbeSource(path: $0, text: try String(contentsOf: root.appending(path: $0), encoding: .utf8))
            }
        }
        let builtIn = ProbeScanner.scan(try files("HealthProbes"))
        #expect(builtIn.problems.isEmpty)
        #expect(builtIn.probes.count >= 20)
        #expect(builtIn.probes.contains { $0.typeName == "QMPEventsProbe" && $0.kind == "qmp.events" })
        let site = ProbeScanner.scan(try files("SiteProbes"))
        #expect(site.problems.isEmpty)
        #expect(site.probes.map(\.kind) == ["site.example"])
    }
}
