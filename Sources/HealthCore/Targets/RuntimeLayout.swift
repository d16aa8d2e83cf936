/// Where Hive keeps a QEMU instance's runtime files (QMP, pid, serial, console log, guest agent).
///
/// The directory follows Spinifex's rule (DESIGN §5): `[health] runtime_dir` when set, else `$XDG_RUNTIME_DIR` (its
/// systemd units set `/run/spinifex`), else `/run/spinifex`, else `~/spinifex`, else the Hive era's `~/hive`, each
/// when that directory exists, else `/tmp`. Resolution is pure: the caller passes the environment, the home
/// directory and a directory-exists function, so tests control every branch; HealthInventory's
/// `RuntimeLayout.current(configured:)` applies it to this process.
public struct RuntimeLayout: Sendable, Hashable, CustomStringConvertible {
    /// The runtime directory `<rt>`.
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Spinifex's runtime directory on a node installed with its systemd units.
    public static let spinifexRunDirectory = "/run/spinifex"

    /// Applies Spinifex's rule.
    ///
    /// - Parameters:
    ///   - configured: `[health] runtime_dir`, when the configuration sets it (empty counts as unset).
    ///   - environment: the process environment (`XDG_RUNTIME_DIR` is read; empty counts as unset).
    ///   - home: the home directory, for `~/spinifex` and `~/hive`.
    ///   - directoryExists: whether a directory exists at a path.
    public static func resolve(
        configured: String?, environment: [String: String], home: String, directoryExists: (String) -> Bool
    ) -> RuntimeLayout {
        if let configured, !configured.isEmpty { return RuntimeLayout(directory: configured) }
        if let xdg = environment["XDG_RUNTIME_DIR"], !xdg.isEmpty { return RuntimeLayout(directory: xdg) }
        if directoryExists(spinifexRunDirectory) { return RuntimeLayout(directory: spinifexRunDirectory) }
        if !home.isEmpty {
            for name in ["spinifex", "hive"] where directoryExists(join(home, name)) {
                return RuntimeLayout(directory: join(home, name))
            }
        }
        return RuntimeLayout(directory: "/tmp")
    }

    /// `<rt>/qmp-<id>.sock`: Hive's QMP monitor.
    public func qmpSocket(for id: String) -> String { Self.join(directory, "qmp-\(id).sock") }

    /// `<rt>/<id>.pid`: QEMU's `-pidfile`.
    public func pidFile(for id: String) -> String { Self.join(directory, "\(id).pid") }

    /// `<rt>/serial-<id>.sock`: the serial console socket.
    public func serialSocket(for id: String) -> String { Self.join(directory, "serial-\(id).sock") }

    /// `<rt>/console-<id>.log`: the serial console log.
    public func consoleLog(for id: String) -> String { Self.join(directory, "console-\(id).log") }

    /// `<rt>/qga-<id>.sock`: the guest agent channel (our proposed convention; Hive has none yet).
    public func guestAgentSocket(for id: String) -> String { Self.join(directory, "qga-\(id).sock") }

    public var description: String { directory }

    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
