import Foundation
import HealthCatalogue
import HealthCore
import Testing

@Suite("checks.d loading")
struct CatalogueLoaderTests {
    @Test("files load sorted by name with every default applied and locations set")
    func loadsDirectoryWithDefaults() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("20-instance.yml", """
            checks:
              - name: qmp.alive
                probe: test.instance
                params:
                  pid_file: "{{runtime_dir}}/{{instance.id}}.pid"
            """)
        try directory.write("10-node.yaml", """
            # host checks
            checks:
              - name: host.ok
                probe: test.node
                interval: 5s
              - name: volume.ok
                probe: test.volume
                description: volumes answer
            """)
        try directory.write("notes.txt", "checks: [garbage")
        try directory.write("sub/30-ignored.yaml", "checks: [garbage")
        let config = try HealthConfig.parse("[health]\ncheck_interval = \"2m\"\n", file: "hive.toml")
        let result = CatalogueLoader(registry: try testRegistry(), config: config)
            .load(directory: directory.path, environment: nil)
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.catalogue.files == ["\(directory.path)/10-node.yaml", "\(directory.path)/20-instance.yml"])
        #expect(result.catalogue.checks.map(\.name) == ["host.ok", "volume.ok", "qmp.alive"])

        let host = try #require(result.catalogue.check(named: "host.ok"))
        #expect(host.category == .system)
        #expect(host.target == .node)
        #expect(host.interval == .seconds(5))
        // The standard 10 s timeout does not fit a 5 s interval: capped to 80 % of it.
        #expect(host.timeout == .seconds(4))
        #expect(host.splay == .seconds(5))
        #expect(host.enabled)
        #expect(host.location == SourceLocation(file: "\(directory.path)/10-node.yaml", line: 3, column: 11))

        let volume = try #require(result.catalogue.check(named: "volume.ok"))
        #expect(volume.category == .ebs)
        #expect(volume.target == .volume)
        #expect(volume.interval == .seconds(120))
        #expect(volume.timeout == .seconds(30))
        #expect(volume.description == "volumes answer")

        let qmp = try #require(result.catalogue.check(named: "qmp.alive"))
        #expect(qmp.timeout == .seconds(10))
        #expect(qmp.thresholds == .default)
        #expect(qmp.params["pid_file"] == .string("{{runtime_dir}}/{{instance.id}}.pid"))
        #expect(qmp.params["count"] == .integer(3))
        #expect(qmp.params["socket"] == .string("{{runtime_dir}}/qmp-{{instance.id}}.sock"))
        #expect(qmp.params["command"] == nil)

        let effective = try #require(result.catalogue.effective.first { $0.check.name == "qmp.alive" })
        #expect(effective.provenance["interval"] == "hive.toml [health] check_interval")
        #expect(effective.provenance["timeout"] == "default")
        #expect(effective.provenance["params.pid_file"] == "\(directory.path)/20-instance.yml:5:17")
        #expect(effective.provenance["params.count"] == "default")
        #expect(effective.provenance["thresholds.consecutive_failures"] == "default")
    }

    @Test("parameters of every type are read into typed values")
    func typedParameters() throws {
        let result = try loadInMemory(["a.yaml": """
            checks:
              - name: typed
                probe: test.instance
                target: volume
                category: ebs
                interval: 90
                timeout: 1m
                splay: 10s
                jitter: 500ms
                enabled: false
                thresholds: {consecutive_failures: 4, consecutive_successes: 3, flap_high: 70, flap_low: 30}
                params:
                  pid_file: /run/x.pid
                  socket: "{{volume.nbd_uri}}"
                  count: 7
                  min_available_percent: 12.5
                  strict: true
                  grace: 1m30s
                  command: [/usr/lib/nagios/check_x, "-H", "{{instance.private_ip}}"]
                  env: {LANG: C, TARGET: "{{volume.id}}"}
            """])
        #expect(result.errors.isEmpty, "\(result.errors)")
        let check = try #require(result.catalogue.checks.first)
        #expect(check.target == .volume)
        #expect(check.category == .ebs)
        #expect(check.interval == .seconds(90))
        #expect(check.timeout == .seconds(60))
        #expect(check.splay == .seconds(10))
        #expect(check.jitter == .milliseconds(500))
        #expect(!check.enabled)
        #expect(check.thresholds
            == Thresholds(consecutiveFailures: 4, consecutiveSuccesses: 3, flapHigh: 70, flapLow: 30))
        #expect(check.params == [
            "pid_file": .string("/run/x.pid"),
            "socket": .string("{{volume.nbd_uri}}"),
            "count": .integer(7),
            "min_available_percent": .number(12.5),
            "strict": .boolean(true),
            "grace": .duration(.seconds(90)),
            "command": .stringList(["/usr/lib/nagios/check_x", "-H", "{{instance.private_ip}}"]),
            "env": .stringMap(["LANG": "C", "TARGET": "{{volume.id}}"]),
        ])
    }

    @Test("when selectors: one pattern, a list, and {not: ...}")
    func selectors() throws {
        let result = try loadInMemory(["a.yaml": """
            checks:
              - name: selected
                probe: test.instance
                params: {pid_file: x}
                when:
                  instance.state: running
                  node.name: [edge-*, core-?]
                  instance.label.tier: {not: [test, dev]}
            """])
        #expect(result.errors.isEmpty, "\(result.errors)")
        let check = try #require(result.catalogue.checks.first)
        #expect(Set(check.when) == [
            Selector(field: "instance.state", patterns: ["running"]),
            Selector(field: "node.name", patterns: ["edge-*", "core-?"]),
            Selector(field: "instance.label.tier", patterns: ["test", "dev"], negated: true),
        ])
        let node = NodeInfo(name: "edge-7")
        let instance = InstanceInfo(id: "i-1", state: .running, labels: ["tier": "prod"])
        let fields = TargetFields(target: .instance(instance), node: node, runtimeDirectory: "/run")
        #expect(check.applies(to: fields))
        var dev = instance
        dev.labels["tier"] = "dev"
        #expect(!check.applies(to: TargetFields(target: .instance(dev), node: node, runtimeDirectory: "/run")))
    }

    @Test("every problem of a file is reported at once, each at its line and column")
    func allErrorsAtOnce() throws {
        let text = """
            checks:
              - name: bad name!
                probe: test.node
              - probe: test.node
              - name: no.probe
                probe: test.nothing
              - name: wrong.target
                probe: test.node
                target: instance
              - name: slow
                probe: test.node
                interval: 10s
                timeout: 10s
              - name: bad.duration
                probe: test.node
                interval: 10 parsecs
                colour: blue
              - name: params
                probe: test.instance
                params:
                  count: 11
                  strict: "yes"
                  grace: soon
                  socket: "{{instance.nope}}"
                  command: "{{unclosed"
                  extra: 1
              - name: selectors
                probe: test.node
                thresholds: {consecutive_failures: 0, flap_high: 20, flap_low: 40, wobble: 1}
                when: {instance.id: i-1, node.name: []}
              - just a string
            """
        let result = try loadInMemory(["bad.yaml": text])
        #expect(result.catalogue.checks.isEmpty)
        func expectError(_ key: String, line: Int, column: Int, _ fragment: String) {
            let error = result.error(key: key)
            #expect(error?.line == line, "\(key)")
            #expect(error?.column == column, "\(key)")
            #expect(error?.message.contains(fragment) == true, "\(key): \(String(describing: error))")
            #expect(error?.file == "bad.yaml")
        }
        expectError("checks[0].name", line: 2, column: 11, "invalid check name 'bad name!'")
        expectError("checks[1].name", line: 4, column: 5, "missing required key 'name'")
        expectError("checks[2].probe", line: 6, column: 12, "unknown probe kind 'test.nothing'")
        expectError("checks[3].target", line: 9, column: 13, "cannot look at a instance")
        expectError("checks[4].timeout", line: 13, column: 14, "must be less than the interval")
        expectError("checks[5].interval", line: 16, column: 15, "invalid duration '10 parsecs'")
        expectError("checks[5].colour", line: 17, column: 5, "unknown key")
        expectError("checks[6].params.count", line: 21, column: 14, "out of range 1...10")
        expectError("checks[6].params.strict", line: 22, column: 15, "expected true or false")
        expectError("checks[6].params.grace", line: 23, column: 14, "invalid duration 'soon'")
        expectError("checks[6].params.socket", line: 24, column: 15, "unknown template field '{{instance.nope}}'")
        expectError("checks[6].params.command", line: 25, column: 16, "expected a list of strings")
        expectError("checks[6].params.extra", line: 26, column: 7, "unknown parameter")
        expectError("checks[6].params.pid_file", line: 20, column: 5, "missing required parameter 'pid_file'")
        expectError("checks[7].thresholds.consecutive_failures", line: 29, column: 40, "out of range 1...100")
        expectError("checks[7].thresholds.wobble", line: 29, column: 72, "unknown key")
        expectError("checks[7].when.instance.id", line: 30, column: 12, "unknown field 'instance.id' for a node")
        expectError("checks[7].when.node.name", line: 30, column: 41, "at least one pattern")
        expectError("checks[8]", line: 31, column: 5, "expected a mapping")
        #expect(result.errors.allSatisfy { $0.description.hasPrefix("bad.yaml:\($0.line):\($0.column): ") })
    }

    @Test("an unclosed template and flap thresholds out of order are errors")
    func templateAndFlap() throws {
        let result = try loadInMemory([
            "a.yaml": """
                checks:
                  - name: t
                    probe: test.instance
                    params: {pid_file: "{{instance.id", command: [ok, "{{runtime_dir}"]}
                """,
            "b.yaml": """
                checks:
                  - name: f
                    probe: test.node
                    thresholds: {flap_high: 20, flap_low: 40}
                """,
        ])
        #expect(result.error(key: "checks[0].params.pid_file")?.message.contains("unclosed '{{'") == true)
        #expect(result.error(key: "checks[0].params.command")?.message.contains("unclosed") == true)
        #expect(result.error(key: "checks[0].thresholds.flap_low")?.message.contains("must be less than") == true)
    }

    @Test("a bad file contributes no checks while the good files load")
    func badFileIsolated() throws {
        let result = try loadInMemory([
            "10-good.yaml": "checks:\n  - {name: good, probe: test.node}\n",
            "20-bad.yaml": "checks:\n  - {name: fine, probe: test.node}\n  - {name: broken, probe: nope}\n",
        ])
        #expect(result.catalogue.checks.map(\.name) == ["good"])
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.file == "20-bad.yaml")
        #expect(!result.isValid)
    }

    @Test("a duplicate name is an error in the later file, which then contributes nothing")
    func duplicates() throws {
        let result = try loadInMemory([
            "10-first.yaml": "checks:\n  - {name: same, probe: test.node}\n",
            "20-second.yaml": "checks:\n  - {name: other, probe: test.node}\n  - name: same\n    probe: test.node\n",
        ])
        #expect(result.catalogue.checks.map(\.name) == ["same"])
        #expect(result.catalogue.checks.first?.location?.file == "10-first.yaml")
        let error = try #require(result.errors.first)
        #expect(result.errors.count == 1)
        #expect(error.code == .duplicate)
        #expect(error.file == "20-second.yaml")
        #expect(error.line == 3)
        #expect(error.column == 11)
        #expect(error.message.contains("first defined at 10-first.yaml:2:12"))
    }

    @Test("an empty file is valid with no checks; checks: not a list and unknown top keys are errors")
    func emptyAndShapes() throws {
        let empty = try loadInMemory(["a.yaml": "", "b.yaml": "# only a comment\n", "c.yaml": "checks:\n"])
        #expect(empty.errors.isEmpty)
        #expect(empty.catalogue.checks.isEmpty)

        let notList = try loadInMemory(["a.yaml": "checks:\n  name: x\n"])
        #expect(notList.errors.count == 1)
        #expect(notList.errors.first?.key == "checks")
        #expect(notList.errors.first?.message.contains("expected a list, got a mapping") == true)

        let scalarRoot = try loadInMemory(["a.yaml": "just text\n"])
        #expect(scalarRoot.errors.first?.message.contains("expected a mapping") == true)

        let unknownTop = try loadInMemory(["a.yaml": "checks: []\nchecs: []\n"])
        #expect(unknownTop.errors.first?.key == "checs")
        #expect(unknownTop.errors.first?.line == 2)
    }

    @Test("a YAML syntax error is reported as file:line:column")
    func syntaxError() throws {
        let result = try loadInMemory(["broken.yaml": "checks:\n  - name: a\n    probe: [test.node\n"])
        let error = try #require(result.errors.first)
        #expect(error.code == .syntax)
        #expect(error.file == "broken.yaml")
        #expect(error.line >= 3)
        #expect(error.description.hasPrefix("broken.yaml:\(error.line):\(error.column): YAML syntax error"))
    }

    @Test("a duplicate YAML key is a syntax error with its location")
    func duplicateKey() throws {
        let result = try loadInMemory(["a.yaml": "checks:\n  - name: a\n    name: b\n    probe: test.node\n"])
        let error = try #require(result.errors.first)
        #expect(error.message.contains("duplicate key 'name'"))
        #expect(error.line == 2)
    }

    @Test("a missing directory is one error")
    func missingDirectory() throws {
        let loader = CatalogueLoader(registry: try testRegistry(), config: .defaults)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID())").path
        let result = loader.load(directory: path, environment: nil)
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.message == "checks directory \(path) does not exist")
        #expect(result.catalogue.checks.isEmpty)
    }
}
