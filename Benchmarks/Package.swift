// swift-tools-version: 6.1
// A separate package so that the main build and CI do not build the benchmark library.
import PackageDescription

let package = Package(
    name: "HiveHealthBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "HiveHealth", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Scheduler plus evaluator cost per job run with a no-op probe at 10,000 instances x 12 checks.
        .executableTarget(
            name: "SchedulerEvaluator",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "HealthCore", package: "HiveHealth"),
                .product(name: "HealthEngine", package: "HiveHealth"),
                .product(name: "HealthProbes", package: "HiveHealth"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/SchedulerEvaluator",
            swiftSettings: [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny")],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
