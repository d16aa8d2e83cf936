import ArgumentParser
import Foundation
import HealthCore
import HealthDaemon
import HealthNATS
import HealthRecovery
import Logging

/// `hive-health recover list|history|approve|reject`: recovery proposals and their outcome (needs NATS).
struct Recover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recovery proposals and their outcome, kept in JetStream KV (needs NATS).",
        discussion: "With [health] recovery_enabled = false, a system-status impairment creates a proposal that a "
            + "person approves or rejects here; docs/recovery.md explains the policy.",
        subcommands: [List.self, History.self, Approve.self, Reject.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recoveries proposed or in progress, and the instances whose auto-recovery is disabled.")
        @OptionGroup var options: CommonOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let (records, maintenance) = try await RecoveryCommand.withStore(options) { store, _ in
                let records = try await store.open()
                let maintenance = try await store.maintenanceOptions()
                return (records, maintenance)
            }
            try RecoveryCommand.print(records, format: output.format)
            // Instances a person took out of recovery (aws ec2 modify-instance-maintenance-options): the table only,
            // so the JSON stays one array of records.
            let disabled = maintenance.values.filter { $0.autoRecovery == .disabled }
                .sorted { $0.instance < $1.instance }
            if output.format == .table, !disabled.isEmpty {
                Swift.print("\nauto-recovery disabled (ModifyInstanceMaintenanceOptions):")
                for options in disabled {
                    Swift.print("\(options.instance)\tsince \(RFC3339.format(options.updatedAt))")
                }
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Finished recoveries: done, failed or rejected.")
        @OptionGroup var options: CommonOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let records = try await RecoveryCommand.withStore(options) { store, _ in try await store.history() }
            try RecoveryCommand.print(records, format: output.format)
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a proposed recovery; the agent that proposed it carries it out.")
        @OptionGroup var options: CommonOptions
        @Argument(help: "The recovery id (from recover list).") var id: String

        func run() async throws {
            try await RecoveryCommand.decide(options, id: id, approve: true)
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a proposed recovery: nothing is done.")
        @OptionGroup var options: CommonOptions
        @Argument(help: "The recovery id (from recover list).") var id: String

        func run() async throws {
            try await RecoveryCommand.decide(options, id: id, approve: false)
        }
    }
}

enum RecoveryCommand {
    static func withStore<T>(
        _ options: CommonOptions, _ body: (RecoveryStore, RecoveryEventPublisher) async throws -> T
    ) async throws -> T {
        let access = try options.access(command: "recover")
        let subjects = access.setup.subjects
        do {
            return try await access.withNATS(needs: "recover (recovery records live in JetStream KV)") { connection in
                let store = try await RecoveryStore.open(connection: connection, subjects: subjects)
                let events = RecoveryEventPublisher(connection: connection, subjects: subjects, logger: access.logger)
                return try await body(store, events)
            }
        } catch let failure as DaemonAccess.Failure {
            throw CommandFailure.exit("recover", failure)
        }
    }

    static func decide(_ options: CommonOptions, id: String, approve: Bool) async throws {
        let person =
            ProcessInfo.processInfo.environment["USER"].map { "\($0) (hive-health recover)" }
            ?? "hive-health recover"
        do {
            try await withStore(options) { store, events in
                let record =
                    approve ? try await store.approve(id: id, by: person) : try await store.reject(id: id, by: person)
                await events.publish(RecoveryEvent.step(record, from: .proposed))
                Swift.print("\(record.id): \(record.state)")
            }
        } catch let error as RecoveryError {
            printError(error.message)
            throw ExitCode(1)
        }
    }

    static func print(_ records: [RecoveryRecord], format: OutputFormat) throws {
        switch format {
        case .json:
            let data = try JSONEncoder.healthMessages.encode(records)
            Swift.print(String(decoding: data, as: UTF8.self))
        case .table:
            guard !records.isEmpty else {
                Swift.print("no recoveries")
                return
            }
            Swift.print(
                ["ID", "INSTANCE", "NODE", "ACTION", "STATE", "UPDATED", "REASON"].joined(separator: "\t"))
            for record in records {
                let updated = RFC3339.format(record.updatedAt)
                let person = record.needsPerson && record.state == .proposed ? " [needs a person]" : ""
                Swift.print(
                    [
                        record.id, record.instance, record.node, record.action.rawValue, record.state.rawValue, updated,
                        record.reason + person,
                    ].joined(separator: "\t"))
            }
        }
    }
}
