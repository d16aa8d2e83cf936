import Foundation
import HealthCatalogue
import HealthCore
import Testing

@Suite("overlay selectors: nodes, labels, cluster")
struct OverlaySelectorTests {
    static let checks = """
        checks:
          - name: host.ok
            probe: test.node
            interval: 60s
          - name: host.other
            probe: test.node
            interval: 60s
        """

    static let overlay = """
        overrides:
          - checks: "host.*"
            nodes: ["edge-*", node-b]
            interval: 10s
          - checks: host.ok
            labels: {rack: r1, az: "ap-southeast-2*"}
            thresholds: {consecutive_failures: 5}
          - checks: host.other
            cluster: syd-*
            enabled: false
        """

    func load(_ scope: OverlayScope, overlay: String = overlay) throws -> CatalogueLoadResult {
        CatalogueLoader(registry: try testRegistry(), config: .defaults, scope: scope).load(
            files: [("checks.yaml", Array(Self.checks.utf8))],
            environmentFiles: [("environments/prod.yaml", Array(overlay.utf8))], environment: "prod")
    }

    @Test("an override applies only on the nodes, labels and cluster it selects")
    func selects() throws {
        let edge = try load(OverlayScope(node: "edge-7", labels: ["rack": "r1", "az": "ap-southeast-2a"],
                                         cluster: "syd-1"))
        #expect(edge.errors.isEmpty, "\(edge.errors)")
        let ok = try #require(edge.catalogue.check(named: "host.ok"))
        #expect(ok.interval == .seconds(10))
        #expect(ok.thresholds.consecutiveFailures == 5)
        #expect(edge.catalogue.check(named: "host.other")?.enabled == false)
        let provenance = try #require(edge.catalogue.effective.first { $0.check.name == "host.ok" }?.provenance)
        #expect(provenance["interval"] == "environments/prod.yaml:4:15 (nodes=edge-*|node-b)")
        #expect(provenance["thresholds.consecutive_failures"]?.hasPrefix("environments/prod.yaml:7:") == true)
        #expect(provenance["thresholds.consecutive_failures"]?.hasSuffix("(labels.az=ap-southeast-2*, labels.rack=r1)")
            == true, "\(provenance)")

        let plain = try load(OverlayScope(node: "core-1", labels: ["rack": "r2"], cluster: "mel-1"))
        #expect(plain.errors.isEmpty, "\(plain.errors)")
        let untouched = try #require(plain.catalogue.check(named: "host.ok"))
        #expect(untouched.interval == .seconds(60))
        #expect(untouched.thresholds.consecutiveFailures == 2)
        #expect(plain.catalogue.check(named: "host.other")?.enabled == true)
        let origin = plain.catalogue.effective.first { $0.check.name == "host.ok" }?.provenance["interval"]
        #expect(origin == "checks.yaml:4:15")

        // Every label must match; a node without the label is not selected.
        let partial = try load(OverlayScope(node: "node-b", labels: ["rack": "r1"]))
        #expect(partial.catalogue.check(named: "host.ok")?.interval == .seconds(10))
        #expect(partial.catalogue.check(named: "host.ok")?.thresholds.consecutiveFailures == 2)
    }

    @Test("hive.toml gives the scope: node, [health] cluster, [health.labels], and region/az of the node")
    func scopeFromConfig() throws {
        let config = try HealthConfig.parse(
            """
            node = "edge-1"
            [nodes.edge-1]
            region = "ap-southeast-2"
            az = "ap-southeast-2b"
            [health]
            cluster = "syd-2"
            [health.labels]
            rack = "r1"
            """, file: "hive.toml")
        let scope = OverlayScope(config: config)
        #expect(scope == OverlayScope(
            node: "edge-1", labels: ["rack": "r1", "region": "ap-southeast-2", "az": "ap-southeast-2b"],
            cluster: "syd-2"))
        #expect(OverlayScope(config: config, node: "other").node == "other")
    }

    @Test("selectors of the wrong shape are errors with their location, on every node")
    func badSelectors() throws {
        let overlay = """
            overrides:
              - checks: host.ok
                nodes: []
              - checks: host.ok
                labels: [rack]
              - checks: host.ok
                cluster: {name: x}
              - checks: host.ok
                labels: {rack: {a: b}}
            """
        let result = try load(OverlayScope(node: "n"), overlay: overlay)
        #expect(result.error(key: "overrides[0].nodes")?.line == 3)
        #expect(result.error(key: "overrides[1].labels")?.line == 5)
        #expect(result.error(key: "overrides[2].cluster")?.line == 7)
        #expect(result.error(key: "overrides[3].labels.rack")?.line == 9)
    }

    @Test("an override for other nodes is still checked, so a catalogue validates the same everywhere")
    func unselectedStillValidated() throws {
        let overlay = """
            overrides:
              - checks: host.ok
                nodes: elsewhere
                params: {no_such_param: 1}
            """
        let result = try load(OverlayScope(node: "here"), overlay: overlay)
        #expect(!result.errors.isEmpty)
        #expect(result.errors.contains { $0.key.hasPrefix("overrides[0].params") })

        // A setting that would make the check invalid on the selected nodes is an error on every node.
        let timeout = """
            overrides:
              - checks: host.ok
                nodes: elsewhere
                timeout: 90s
            """
        let invalid = try load(OverlayScope(node: "here"), overlay: timeout)
        let error = try #require(invalid.error(key: "overrides[0].timeout"), "\(invalid.errors)")
        #expect(error.file == "environments/prod.yaml")
        #expect(error.line == 4)
        #expect(error.message.contains("less than the interval"))
    }
}

@Suite("shared catalogue bundle")
struct CatalogueBundleTests {
    @Test("sha256 matches the FIPS 180-4 test vectors")
    func digestVectors() {
        #expect(CatalogueBundle(files: [:]).sha256
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // The hash covers names, sizes and texts: one file "a" with "abc" is "a\n3\nabc".
        let one = CatalogueBundle(files: ["a.yaml": "abc"])
        #expect(one.sha256 != CatalogueBundle(files: ["b.yaml": "abc"]).sha256)
        #expect(one.sha256 != CatalogueBundle(files: ["a.yaml": "abd"]).sha256)
        #expect(one.sha256 == CatalogueBundle(files: ["a.yaml": "abc"]).sha256)
    }

    @Test("read takes YAML files and environments/, write reproduces the folder and removes stale YAML")
    func readWrite() throws {
        let source = try TemporaryDirectory()
        defer { source.remove() }
        try source.write("10-a.yaml", "checks: []\n")
        try source.write("notes.txt", "not part of it")
        try source.write("environments/prod.yaml", "overrides: []\n")
        try source.write("other/x.yaml", "ignored: true\n")
        let bundle = try CatalogueBundle.read(directory: source.path)
        #expect(Set(bundle.files.keys) == ["10-a.yaml", "environments/prod.yaml"])
        #expect(bundle.environmentNames == ["prod"])

        let target = try TemporaryDirectory()
        defer { target.remove() }
        try target.write("99-stale.yaml", "checks: []\n")
        try target.write("keep.txt", "kept")
        try bundle.write(to: target.path)
        #expect(try CatalogueBundle.read(directory: target.path) == bundle)
        #expect(FileManager.default.fileExists(atPath: target.path + "/keep.txt"))
        #expect(!FileManager.default.fileExists(atPath: target.path + "/99-stale.yaml"))
    }

    @Test("validate loads the catalogue with every overlay and reports each file's errors")
    func validateEveryOverlay() throws {
        let bundle = CatalogueBundle(files: [
            "a.yaml": "checks:\n  - name: host.ok\n    probe: test.node\n",
            "environments/good.yaml": "overrides:\n  - checks: host.ok\n    interval: 5s\n",
            "environments/bad.yaml": "overrides:\n  - checks: host.ok\n    interval: soon\n",
        ])
        let loader = CatalogueLoader(registry: try testRegistry(), config: .defaults)
        let errors = bundle.validate(with: loader, origin: "dir")
        #expect(errors.count == 1)
        #expect(errors.first?.file == "dir/environments/bad.yaml")
        #expect(errors.first?.line == 3)
    }

    @Test("a release is intact only when its hash matches its files")
    func releaseIntegrity() throws {
        let bundle = CatalogueBundle(files: ["a.yaml": "checks: []\n"])
        var release = CatalogueRelease(version: 1, bundle: bundle, pushedAt: Date(), pushedBy: "me@here")
        #expect(release.isIntact)
        release.files["a.yaml"] = "checks: [x]\n"
        #expect(!release.isIntact)
        release = CatalogueRelease(version: 1, bundle: CatalogueBundle(files: ["../x.yaml": ""]), pushedAt: Date(),
                                   pushedBy: "me")
        #expect(!release.isIntact)
    }

    @Test("diff lists the files that differ in unified form")
    func diff() {
        let old = CatalogueBundle(files: [
            "a.yaml": "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n", "gone.yaml": "x\n", "same.yaml": "s\n",
        ])
        let new = CatalogueBundle(files: [
            "a.yaml": "one\ntwo\nthree\nFOUR\nfive\nsix\nseven\neight\n", "new.yaml": "y\n", "same.yaml": "s\n",
        ])
        let diff = CatalogueDiff(old: old, oldLabel: "cluster", new: new, newLabel: "dir")
        #expect(diff.changes.map(\.name) == ["a.yaml", "gone.yaml", "new.yaml"])
        #expect(diff.changes.map(\.kind) == [.modified, .onlyInOld, .onlyInNew])
        #expect(diff.changes[0].listing == """
            --- cluster/a.yaml
            +++ dir/a.yaml
            @@ -1,7 +1,7 @@
             one
             two
             three
            -four
            +FOUR
             five
             six
             seven

            """)
        #expect(diff.changes[1].listing == "--- cluster/gone.yaml\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-x\n")
        #expect(diff.changes[2].listing == "--- /dev/null\n+++ dir/new.yaml\n@@ -0,0 +1,1 @@\n+y\n")
        #expect(CatalogueDiff(old: old, oldLabel: "a", new: old, newLabel: "b").isEmpty)
    }
}
