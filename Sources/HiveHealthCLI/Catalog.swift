import ArgumentParser
import Foundation
import HealthCatalogue
import HealthCore
import HealthDaemon
import HealthNATS
import Logging

/// `hive-health catalog push|pull|diff`: the shared catalogue on NATS (docs/fleet.md).
struct Catalog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The shared catalogue in the <prefix>-health-catalog KV bucket: push, pull, diff.",
        discussion: "NATS is this node's [nodes.<node>.nats] host in hive.toml (--config).",
        subcommands: [Push.self, Pull.self, Diff.self, Agents.self])

    /// `catalog push [DIR]`.
    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a checks.d folder (as validate does, with every overlay) and store it as the next "
                + "version of the shared catalogue; agents apply it within seconds.",
            discussion: "Exit status: 0 stored (or already current), 1 refused (the catalogue has errors), 2 error.")

        @Argument(help: "The checks.d folder (default: as for run).")
        var directory: String?

        @OptionGroup var options: CommonOptions

        func run() async throws {
            let setup = try options.resolve(command: "catalog")
            let directory = try CatalogueCommand.directory(self.directory, setup: setup)
            let bundle = try CatalogueCommand.read(directory)
            let errors = bundle.validate(with: setup.catalogueLoader, origin: directory)
            guard errors.isEmpty else {
                for error in errors { print(error.description) }
                printError("refused: \(errors.count) errors; nothing was pushed")
                throw ExitCode(1)
            }
            let outcome = try await CatalogueCommand.withBucket(setup, create: true, logger: options.makeLogger()) {
                bucket throws(CatalogueBucketError) in
                try await bucket.push(bundle, by: CatalogueCommand.pusher)
            }
            switch outcome {
            case .stored(let release):
                print("pushed version \(release.version) (sha256 \(release.sha256), \(release.files.count) files)")
            case .unchanged(let release):
                print("unchanged: version \(release.version) already has this content (sha256 \(release.sha256))")
            }
        }
    }

    /// `catalog pull DIR`.
    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the cluster's shared catalogue into a folder (YAML files there that it lacks are "
                + "removed).",
            discussion: "Exit status: 0 written, 2 error (no NATS, nothing pushed yet...).")

        @Argument(help: "The folder to write.")
        var directory: String

        @Option(help: "A kept older version instead of the current one.")
        var version: Int?

        @OptionGroup var options: CommonOptions

        func run() async throws {
            let setup = try options.resolve(command: "catalog")
            let version = self.version
            let release = try await CatalogueCommand.withBucket(setup, create: false, logger: options.makeLogger()) {
                bucket throws(CatalogueBucketError) in
                if let version { return try await bucket.release(version: version) }
                return try await bucket.current()
            }
            guard let release else {
                printError(version.map { "version \($0) is not kept in the bucket" } ?? "nothing was pushed yet")
                throw ExitCode(2)
            }
            do {
                try release.bundle.write(to: directory)
            } catch {
                printError("cannot write \(directory): \(error)")
                throw ExitCode(2)
            }
            print("pulled version \(release.version) (sha256 \(release.sha256), \(release.files.count) files) "
                + "into \(directory)")
        }
    }

    /// `catalog diff DIR`.
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare a folder with the cluster's shared catalogue, like diff -u.",
            discussion: "Exit status: 0 identical, 1 different (the files that differ are listed), 2 error.")

        @Argument(help: "The folder to compare.")
        var directory: String

        @OptionGroup var options: CommonOptions

        func run() async throws {
            let setup = try options.resolve(command: "catalog")
            let local = try CatalogueCommand.read(directory)
            let release = try await CatalogueCommand.withBucket(setup, create: false, logger: options.makeLogger()) {
                bucket throws(CatalogueBucketError) in try await bucket.current()
            }
            guard let release else {
                printError("nothing was pushed yet: the cluster has no shared catalogue")
                throw ExitCode(2)
            }
            let diff = CatalogueDiff(
                old: release.bundle, oldLabel: "cluster-v\(release.version)", new: local, newLabel: directory)
            if diff.isEmpty {
                print("identical to version \(release.version) (sha256 \(local.sha256))")
                return
            }
            print(diff.listing, terminator: "")
            throw ExitCode(1)
        }
    }
}

extension Catalog {
    /// `catalog agents`: which catalogue every agent runs, from the heartbeats in the status bucket.
    struct Agents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the agents (heartbeats in <prefix>-health-status) and the catalogue each one runs.",
            discussion: "Exit status: 0 every agent runs the current shared version, 1 some do not, 2 error.")

        @OptionGroup var options: CommonOptions
        @OptionGroup var output: OutputOptions

        struct Row: Encodable {
            var node: String
            var timestamp: String
            var catalogue: CatalogueVersion?
            /// Runs the current shared version.
            var current: Bool
        }

        func run() async throws {
            let setup = try options.resolve(command: "catalog")
            let logger = options.makeLogger()
            let release = try await CatalogueCommand.withBucket(setup, create: false, logger: logger) {
                bucket throws(CatalogueBucketError) in try await bucket.current()
            }
            let heartbeats: [NodeHeartbeat]
            do {
                heartbeats = try await DaemonAccess(setup: setup, logger: logger).agentHeartbeats()
            } catch {
                printError("\(error)")
                throw ExitCode(2)
            }
            let rows = heartbeats.map { heartbeat in
                Row(
                    node: heartbeat.node, timestamp: RFC3339.format(heartbeat.timestamp),
                    catalogue: heartbeat.catalogue,
                    current: heartbeat.catalogue?.source == .shared && heartbeat.catalogue?.version == release?.version
                        && heartbeat.catalogue?.sha256 == release?.sha256)
            }
            switch output.format {
            case .json:
                print(try ReportOutput.json(rows))
            case .table:
                print("current: " + (release.map { "version \($0.version) (sha256 \($0.sha256))" } ?? "none"))
                var table: [[String]] = [["NODE", "HEARTBEAT", "CATALOGUE", "CURRENT"]]
                for row in rows {
                    table.append([row.node, row.timestamp, row.catalogue?.summary ?? "-", row.current ? "yes" : "no"])
                }
                print(ReportOutput.columns(table), terminator: "")
            }
            if rows.contains(where: { !$0.current }) { throw ExitCode(1) }
        }
    }
}

/// What the catalog subcommands share.
enum CatalogueCommand {
    static var pusher: String {
        let user = ProcessInfo.processInfo.environment["USER"] ?? "\(getuid())"
        return "\(user)@\(ProcessInfo.processInfo.hostName)"
    }

    static func directory(_ given: String?, setup: DaemonSetup) throws -> String {
        if let given { return given }
        if case .directory(let path) = setup.catalogueSource { return path }
        printError("no checks.d folder: give DIR, --checks or [health] checks_dir")
        throw ExitCode(2)
    }

    static func read(_ directory: String) throws -> CatalogueBundle {
        do {
            return try CatalogueBundle.read(directory: directory)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
    }

    /// Runs `body` on the catalogue bucket over this node's NATS (``DaemonAccess/withNATS(needs:_:)``); any failure
    /// prints its reason and exits 2, the catalog commands' documented status.
    static func withBucket<T>(
        _ setup: DaemonSetup, create: Bool, logger: Logger,
        _ body: (CatalogueBucket) async throws(CatalogueBucketError) -> T
    ) async throws -> T {
        do {
            return try await DaemonAccess(setup: setup, logger: logger).withNATS(needs: "catalog") { connection in
                let bucket = try await CatalogueBucket.open(
                    connection: connection, subjects: setup.subjects, create: create)
                return try await body(bucket)
            }
        } catch let error as CatalogueBucketError where error.code == .notFound {
            printError("nothing was pushed yet: \(error)")
            throw ExitCode(2)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
    }
}
