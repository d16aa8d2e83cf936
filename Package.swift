// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "HiveHealth",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hive-health", targets: ["hive-health"]),
        .library(name: "HealthCore", targets: ["HealthCore"]),
        .library(name: "HealthCatalogue", targets: ["HealthCatalogue"]),
        .library(name: "HealthEngine", targets: ["HealthEngine"]),
        .library(name: "ProbeKit", targets: ["ProbeKit"]),
        .library(name: "HealthProbes", targets: ["HealthProbes"]),
        .library(name: "HealthNATS", targets: ["HealthNATS"]),
        .library(name: "HealthNetwork", targets: ["HealthNetwork"]),
        .library(name: "HealthRecovery", targets: ["HealthRecovery"]),
        .library(name: "SiteProbes", targets: ["SiteProbes"]),
        .library(name: "HealthAPI", targets: ["HealthAPI"]),
        .plugin(name: "ProbeRegistryPlugin", targets: ["ProbeRegistryPlugin"]),
        .plugin(name: "LintChecks", targets: ["LintChecks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.24.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"4.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Pure model: the Probe protocol, observations, targets, evaluator and aggregator. No I/O.
        .target(
            name: "HealthCore",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        // checks.d and hive.toml: loading, validation with file:line:column, environment overlays.
        .target(
            name: "HealthCatalogue",
            dependencies: [
                "HealthCore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        // Where targets come from: Hive's VM JSON (file) and a scan of running QEMU processes.
        .target(
            name: "HealthInventory",
            dependencies: ["HealthCore", "HealthIO", .product(name: "Logging", package: "swift-log")]
        ),
        // The one I/O layer: stream sockets (unix, TCP) with deadlines and framing, the pool for blocking C calls,
        // bounded file reads, errno mapping. Every client (QMP, guest agent, OVSDB, NBD, SMART, ARP) is built on it.
        .target(
            name: "HealthIO",
            dependencies: ["HealthCore", .product(name: "NIOPosix", package: "swift-nio")]
        ),
        // QEMU's sockets: a QMP client (commands, events, a shared connection per socket) and guest agent sessions;
        // QEMU's exit seen through a pidfd.
        .target(
            name: "HealthQEMU",
            dependencies: ["HealthCore", "HealthIO", "CNetworkShim", .product(name: "Logging", package: "swift-log")]
        ),
        // libatasmart (Debian libatasmart-dev) for Swift: SMART data of ATA disks.
        .systemLibrary(
            name: "CAtaSmart", path: "Sources/CAtaSmart", pkgConfig: "libatasmart",
            providers: [.apt(["libatasmart-dev"])]),
        // Storage below the probes: an NBD client, SMART, block devices, socket owners (no probe logic).
        .target(
            name: "HealthBlock",
            dependencies: ["CAtaSmart", "HealthCore", "HealthIO", .product(name: "Logging", package: "swift-log")]
        ),
        // What Glibc's module leaves out for the network clients (setns, sockaddr_ll, ETH_P_ARP): a header only.
        .systemLibrary(name: "CNetworkShim", path: "Sources/CNetworkShim"),
        // Network clients: an OVSDB monitor over the unix socket, a shared ICMP pinger, ARP over AF_PACKET.
        .target(
            name: "HealthNetwork",
            dependencies: [
                "CNetworkShim",
                "HealthCore",
                "HealthIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
        // What every probe is written with, built-in or a site's: typed parameters (defaults applied once), per-check
        // memory, host files (/proc, /sys), QEMU monitor and guest agent sessions.
        .target(
            name: "ProbeKit",
            dependencies: ["HealthCore", "HealthQEMU"]
        ),
        // The built-in probes; the registry is generated at build time from these sources.
        .target(
            name: "HealthProbes",
            dependencies: [
                "HealthCore",
                "ProbeKit",
                "HealthQEMU",
                "HealthBlock",
                "HealthNetwork",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            plugins: ["ProbeRegistryPlugin"]
        ),
        // A site's own probes: one file per probe, registered at build time like the built-in ones
        // (docs/probe-authoring.md).
        .target(
            name: "SiteProbes",
            dependencies: ["HealthCore", "ProbeKit", .product(name: "Logging", package: "swift-log")],
            plugins: ["ProbeRegistryPlugin"]
        ),
        // libnats (Debian libnats-dev) for Swift.
        .systemLibrary(name: "CNATS", path: "Sources/CNATS", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),
        // The NATS client only: a Sendable connection over libnats (publish, subscribe, request, JetStream, KV).
        .target(
            name: "HealthNATS",
            dependencies: ["CNATS", "HealthCore", .product(name: "Logging", package: "swift-log")]
        ),
        // Peers deciding a dead node (votes, quorum, one verdict) and the recovery policy over Hive's instance commands.
        .target(
            name: "HealthRecovery",
            dependencies: [
                "HealthCore", "HealthNATS", "HealthStateStore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A publish/subscribe/JetStream/KV loop that tests run under valgrind to prove no libnats handle leaks.
        .executableTarget(
            name: "NATSLoopCheck",
            dependencies: ["CNATS", "HealthNATS", .product(name: "Logging", package: "swift-log")]
        ),
        // nbd.export's client timed over many runs, for scripts/bench-nbd.sh.
        .executableTarget(
            name: "NBDLatency",
            dependencies: ["HealthBlock", .product(name: "Logging", package: "swift-log")]
        ),
        // The state stores: one local file replaced atomically, or JetStream KV.
        .target(
            name: "HealthStateStore",
            dependencies: ["HealthCore", "HealthIO", "HealthNATS", .product(name: "Logging", package: "swift-log")]
        ),
        // Plan, scheduler, evaluation and the daemon's services.
        .target(
            name: "HealthEngine",
            dependencies: [
                "HealthCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The EC2 Query API (DescribeInstanceStatus, ReportInstanceStatus), SigV4, /metrics and /healthz.
        .target(
            name: "HealthAPI",
            dependencies: [
                "HealthCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                // The HTTP/1 pipeline's own parse errors (MalformedRequestResponder).
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // DescribeInstanceStatus over N made-up instances, for scripts/bench-api.sh (wrk, beside moto_server).
        .executableTarget(
            name: "APIBenchServer",
            dependencies: ["HealthAPI", "HealthCore", .product(name: "Logging", package: "swift-log")]
        ),
        // The daemon put together: configuration, catalogue, inventory, store and engine as services; `check`.
        .target(
            name: "HealthDaemon",
            dependencies: [
                "HealthCore",
                "HealthCatalogue",
                "HealthInventory",
                "HealthStateStore",
                "HealthEngine",
                "HealthQEMU",
                "HealthNATS",
                "HealthRecovery",
                "HealthAPI",
                "HealthIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            plugins: ["EmbeddedCataloguePlugin"]
        ),
        // The `hive-health` command (its module is `hive_health`).
        .executableTarget(
            name: "hive-health",
            dependencies: [
                "HealthCore",
                "HealthCatalogue",
                "HealthInventory",
                "HealthEngine",
                "HealthStateStore",
                "HealthDaemon",
                "HealthProbes",
                "SiteProbes",
                "HealthNATS",
                "HealthRecovery",
                "HealthAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/HiveHealthCLI"
        ),
        // Test doubles shared by the test targets: a manual clock, scripted probes, fixture trees.
        .target(
            name: "HealthTestKit",
            dependencies: [
                "HealthCore", "HealthIO", "HealthNATS", "HealthQEMU", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The README's demo: nats-server, three instances through HiveInstanceLauncher, `hive-health run`, the statuses.
        .executableTarget(
            name: "hive-health-demo",
            dependencies: ["HealthTestKit", .product(name: "Logging", package: "swift-log")],
            path: "Sources/HiveHealthDemo"
        ),
        // What the registry generator registers or refuses: a small Swift tokenizer and a scan of declarations.
        .target(name: "ProbeRegistryScanner"),
        .executableTarget(name: "ProbeRegistryGenerator", dependencies: ["ProbeRegistryScanner"]),
        .plugin(
            name: "ProbeRegistryPlugin",
            capability: .buildTool(),
            dependencies: ["ProbeRegistryGenerator"]
        ),
        // Embeds the shipped checks.d into the daemon, so `hive-health run` works with no files installed.
        .plugin(
            name: "EmbeddedCataloguePlugin",
            capability: .buildTool(),
            dependencies: ["ProbeRegistryGenerator"]
        ),
        .plugin(
            name: "LintChecks",
            capability: .command(
                intent: .custom(verb: "lint-checks", description: "Validate checks.d against the probe registry")
            ),
            dependencies: ["hive-health"]
        ),
        .testTarget(name: "HealthIOTests", dependencies: ["HealthIO", "HealthCore", "HealthTestKit"]),
        .testTarget(name: "HealthCoreTests", dependencies: ["HealthCore", "HealthTestKit"]),
        .testTarget(name: "HealthCatalogueTests", dependencies: ["HealthCatalogue", "HealthTestKit"]),
        .testTarget(name: "HealthInventoryTests", dependencies: ["HealthInventory", "HealthNATS", "HealthTestKit"]),
        .testTarget(name: "HealthStateStoreTests", dependencies: ["HealthStateStore", "HealthNATS", "HealthTestKit"]),
        .testTarget(
            name: "HealthProbesTests", dependencies: ["HealthProbes", "ProbeKit", "HealthBlock", "HealthTestKit"]),
        .testTarget(name: "HealthBlockTests", dependencies: ["HealthBlock", "HealthTestKit"]),
        .testTarget(
            name: "HealthNetworkTests",
            dependencies: ["HealthNetwork", "HealthProbes", "HealthCore", "HealthIO", "HealthTestKit"]
        ),
        .testTarget(name: "HealthQEMUTests", dependencies: ["HealthQEMU", "HealthTestKit"]),
        .testTarget(name: "HealthNATSTests", dependencies: ["HealthNATS", "HealthCore", "HealthTestKit"]),
        .testTarget(name: "HealthEngineTests", dependencies: ["HealthEngine", "HealthTestKit"]),
        .testTarget(
            name: "HealthDaemonTests",
            dependencies: [
                "HealthAPI", "HealthDaemon", "HealthEngine", "HealthIO", "HealthProbes", "ProbeKit", "HealthQEMU",
                "HealthNATS", "HealthStateStore", "HealthTestKit",
            ]
        ),
        .testTarget(
            name: "HealthRecoveryTests",
            dependencies: ["HealthRecovery", "HealthNATS", "HealthCore", "HealthStateStore", "HealthTestKit"]
        ),
        .testTarget(
            name: "HealthAPITests", dependencies: ["HealthAPI", "HealthCore", "HealthTestKit"],
            exclude: ["Clients"]),
        .testTarget(name: "HiveHealthCLITests", dependencies: ["HealthNATS", "HealthTestKit"]),
        .testTarget(name: "ProbeRegistryGeneratorTests", dependencies: ["ProbeRegistryScanner"]),
        .testTarget(name: "SiteProbesTests", dependencies: ["SiteProbes", "ProbeKit", "HealthTestKit"]),
        // Three nats-server in a cluster and three `hive-health run` agents (multi-process, serialized).
        .testTarget(
            name: "HealthFleetTests", dependencies: ["HealthNATS", "HealthCore", "HealthStateStore", "HealthTestKit"]),
        // The whole stack against real QEMU, nbdkit, qemu-ga, Open vSwitch and nats-server, through the aws CLI.
        .testTarget(name: "HealthE2ETests", dependencies: ["HealthNATS", "HealthTestKit"]),
    ]
)

for target in package.targets where target.type != .plugin && target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}
