import HealthCore
import Testing

@Suite("RuntimeLayout")
struct RuntimeLayoutTests {
    @Test("the configured runtime_dir wins over everything")
    func configuredWins() {
        let layout = RuntimeLayout.resolve(
            configured: "/srv/hive/run", environment: ["XDG_RUNTIME_DIR": "/run/user/1000"], home: "/home/op"
        ) { _ in true }
        #expect(layout.directory == "/srv/hive/run")
    }

    @Test("XDG_RUNTIME_DIR is used when runtime_dir is not set or empty")
    func xdgRuntimeDir() {
        let layout = RuntimeLayout.resolve(
            configured: "", environment: ["XDG_RUNTIME_DIR": "/run/user/1000"], home: "/home/op"
        ) { _ in true }
        #expect(layout.directory == "/run/user/1000")
    }

    @Test("~/hive is used when it exists and XDG_RUNTIME_DIR is unset or empty")
    func homeHive() {
        var asked: [String] = []
        let layout = RuntimeLayout.resolve(configured: nil, environment: ["XDG_RUNTIME_DIR": ""], home: "/home/op") {
            asked.append($0)
            return $0 == "/home/op/hive"
        }
        #expect(layout.directory == "/home/op/hive")
        #expect(asked == ["/run/spinifex", "/home/op/spinifex", "/home/op/hive"])
    }

    @Test("Spinifex's /run/spinifex, then ~/spinifex, come before the Hive era's ~/hive")
    func spinifexDirectories() {
        let run = RuntimeLayout.resolve(configured: nil, environment: [:], home: "/home/op") { _ in true }
        #expect(run.directory == "/run/spinifex")
        let home = RuntimeLayout.resolve(configured: nil, environment: [:], home: "/home/op") {
            $0 != "/run/spinifex"
        }
        #expect(home.directory == "/home/op/spinifex")
    }

    @Test("/tmp is the last resort")
    func tmpFallback() {
        let layout = RuntimeLayout.resolve(configured: nil, environment: [:], home: "/home/op") { _ in false }
        #expect(layout.directory == "/tmp")
        let homeless = RuntimeLayout.resolve(configured: nil, environment: [:], home: "") { $0 != "/run/spinifex" }
        #expect(homeless.directory == "/tmp")
    }

    @Test("runtime file names follow Hive's convention")
    func fileNames() {
        let layout = RuntimeLayout(directory: "/run/user/0/")
        #expect(layout.qmpSocket(for: "i-0abc") == "/run/user/0/qmp-i-0abc.sock")
        #expect(layout.pidFile(for: "i-0abc") == "/run/user/0/i-0abc.pid")
        #expect(layout.serialSocket(for: "i-0abc") == "/run/user/0/serial-i-0abc.sock")
        #expect(layout.consoleLog(for: "i-0abc") == "/run/user/0/console-i-0abc.log")
        #expect(layout.guestAgentSocket(for: "i-0abc") == "/run/user/0/qga-i-0abc.sock")
        #expect(RuntimeLayout(directory: "/tmp").qmpSocket(for: "i-1") == "/tmp/qmp-i-1.sock")
    }
}
