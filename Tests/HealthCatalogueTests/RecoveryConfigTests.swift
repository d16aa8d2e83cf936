import HealthCatalogue
import Testing

@Suite("hive.toml [health.recovery] and [health.peers]")
struct RecoveryConfigTests {
    @Test("recovery and peer settings are read, with defaults for what is not set")
    func recoveryAndPeers() throws {
        let text = """
            [health]
            recovery_enabled = true
            [health.recovery]
            termination_allowed = true
            grace_period = "2m"
            max_per_node = 1
            max_per_cluster = 3
            deduplication_window = "180s"
            [health.peers]
            heartbeat_max_age = "45s"
            """
        let config = try HealthConfig.parse(text, file: "hive.toml")
        #expect(config.recoveryEnabled)
        #expect(config.recovery.terminationAllowed)
        #expect(config.recovery.gracePeriod == .seconds(120))
        #expect(config.recovery.maxPerNode == 1)
        #expect(config.recovery.maxPerCluster == 3)
        #expect(config.recovery.stepTimeout == .seconds(600))
        #expect(config.peers.heartbeatMaxAge == .seconds(45))
        #expect(config.peers.agentAliveWindow == .seconds(30))
    }

    @Test("an unknown key and a membership window shorter than the alive window are errors")
    func errors() {
        let unknown = "[health.recovery]\nterminate = true\n"
        #expect(throws: CatalogueError.self) { try HealthConfig.parse(unknown, file: "hive.toml") }
        let window = "[health.peers]\nagent_alive_window = \"60s\"\nmembership_window = \"30s\"\n"
        #expect(throws: CatalogueError.self) { try HealthConfig.parse(window, file: "hive.toml") }
    }
}
