import Foundation
import HealthCatalogue
import HealthCore
import HealthEngine
import HealthInventory
import Logging
import Synchronization

/// Keeps the plan current: the last good catalogue and the latest inventory, combined and handed to the evaluator
/// and the scheduler whenever either changes.
public final class Planner: Sendable {
    private struct State {
        var checks: [CheckDefinition]?
        var catalogueFingerprint: String?
        var instances: [InstanceInfo]?
        var reloads = 0
        var rejectedReloads = 0
        /// The shared catalogue in force: while set, the local checks.d is not read.
        var shared: CatalogueRelease?
        var catalogue: CatalogueVersion?
    }

    private let setup: DaemonSetup
    private let inventory: any InventorySource
    private let evaluator: Evaluator
    private let apply: @Sendable (Plan) -> Void
    private let logger: Logger
    private let state = Mutex(State())

    public init(
        setup: DaemonSetup, inventory: any InventorySource, evaluator: Evaluator, logger: Logger,
        apply: @escaping @Sendable (Plan) -> Void
    ) {
        self.setup = setup
        self.inventory = inventory
        self.evaluator = evaluator
        self.logger = logger
        self.apply = apply
    }

    /// Catalogue reloads applied, and those refused because the new catalogue was broken.
    public var reloadCounts: (applied: Int, rejected: Int) { state.withLock { ($0.reloads, $0.rejectedReloads) } }

    /// The checks in force.
    public var checks: [CheckDefinition] { state.withLock { $0.checks ?? [] } }

    /// The catalogue in force (nil before the first load).
    public var catalogue: CatalogueVersion? { state.withLock { $0.catalogue } }

    /// The instances of the last inventory snapshot.
    public var instances: [InstanceInfo] { state.withLock { $0.instances ?? [] } }

    /// Loads the catalogue when its files changed (or always, with `force`, as on SIGHUP).
    ///
    /// The first load of a catalogue with errors runs the last good copy kept in the state directory
    /// (``LastGoodCatalogue``) when there is one, else keeps the good files and logs the bad ones (`hive-health run`
    /// refuses to start in that case: ``DaemonSetup/startingCatalogue()``). A later load with any error is refused
    /// as a whole: the catalogue in force stays. Every clean load is kept as the last good copy.
    ///
    /// While a shared catalogue is in force the local files are not read; `force` reloads the shared one.
    public func reloadCatalogue(force: Bool = false) {
        if let shared = state.withLock({ $0.shared }) {
            if force { offer(shared, force: true) }
            return
        }
        let fingerprint = Self.fingerprint(of: setup.catalogueSource)
        let previous = state.withLock { ($0.checks, $0.catalogueFingerprint) }
        if !force, previous.0 != nil, fingerprint == previous.1 { return }
        var result = setup.loadCatalogue()
        for error in result.errors {
            logger.error("checks.d: \(error)")
        }
        var fromLastGood = false
        if !result.errors.isEmpty, state.withLock({ $0.checks == nil }), let fallback = lastGoodResult() {
            // First load of a broken checks.d: run what ran before rather than a part of the new files.
            result = fallback
            fromLastGood = true
        }
        let accepted = state.withLock { state -> Bool in
            state.catalogueFingerprint = fingerprint
            if state.checks != nil, !result.errors.isEmpty {
                state.rejectedReloads += 1
                return false
            }
            if state.checks != nil { state.reloads += 1 }
            state.checks = result.catalogue.checks
            return true
        }
        if accepted {
            let bundle = fromLastGood ? setup.lastGoodCatalogue.load() : try? setup.localCatalogueBundle()
            let sha256 = bundle?.sha256 ?? "unreadable"
            let source: CatalogueVersion.Source = setup.catalogueSource == .embedded ? .builtIn : .local
            setCatalogue(CatalogueVersion(source: source, sha256: sha256))
            if fromLastGood {
                logger.error(
                    "checks.d does not load: running the last good catalogue",
                    metadata: ["copy": "\(setup.lastGoodCatalogue.directory)", "sha256": "\(sha256)"])
            } else if result.errors.isEmpty, case .directory = setup.catalogueSource, let bundle {
                let copy = setup.lastGoodCatalogue
                do {
                    try copy.save(bundle)
                } catch {
                    logger.warning("cannot keep a copy of the catalogue in \(copy.directory): \(error)")
                }
            }
            logger.info(
                "catalogue loaded",
                metadata: [
                    "source": "\(setup.catalogueSource)", "checks": "\(result.catalogue.checks.count)",
                    "environment": "\(result.catalogue.environment ?? "-")", "sha256": "\(sha256)",
                ])
            replan()
        } else {
            logger.error("the new catalogue has errors; keeping the last good one")
        }
    }

    /// Applies a release of the shared catalogue, through the same path as a checks.d reload: loaded with this
    /// node's registry, config and overlay; applied only when it loads without any error, else the catalogue in force
    /// stays (and the refused version is reported). Returns whether the release is in force.
    @discardableResult
    public func offer(_ release: CatalogueRelease, force: Bool = false) -> Bool {
        let inForce = state.withLock { $0.shared }
        if !force, let inForce, inForce.version == release.version, inForce.sha256 == release.sha256 { return true }
        let result = release.bundle.load(
            with: setup.catalogueLoader, environment: setup.environment, origin: "shared-v\(release.version)")
        guard result.errors.isEmpty else {
            for error in result.errors { logger.error("shared catalogue: \(error)") }
            let previous = state.withLock { state -> CatalogueVersion? in
                state.rejectedReloads += 1
                return state.catalogue
            }
            if var version = previous {
                version.rejectedVersion = release.version
                setCatalogue(version)
            }
            logger.error(
                "shared catalogue version \(release.version) does not load on this node; keeping the one in force",
                metadata: ["in_force": "\(previous?.summary ?? "none")"])
            return false
        }
        state.withLock { state in
            if state.checks != nil { state.reloads += 1 }
            state.shared = release
            state.checks = result.catalogue.checks
        }
        setCatalogue(CatalogueVersion(source: .shared, version: release.version, sha256: release.sha256))
        logger.info(
            "shared catalogue applied",
            metadata: [
                "version": "\(release.version)", "sha256": "\(release.sha256)", "pushed_by": "\(release.pushedBy)",
                "checks": "\(result.catalogue.checks.count)", "environment": "\(result.catalogue.environment ?? "-")",
            ])
        replan()
        return true
    }

    private func setCatalogue(_ version: CatalogueVersion) {
        state.withLock { $0.catalogue = version }
        evaluator.catalogue = version
    }

    /// Takes a new inventory snapshot and replans when the instances changed. A failing source keeps the last
    /// snapshot (a transient error must not make every instance disappear).
    public func refreshInventory() async {
        let snapshot: InventorySnapshot
        do {
            snapshot = try await inventory.snapshot()
        } catch {
            logger.error("inventory: \(error); keeping the last snapshot")
            return
        }
        for skipped in snapshot.skipped {
            logger.warning("inventory: skipped \(skipped)")
        }
        let changed = state.withLock { state -> Bool in
            guard state.instances != snapshot.instances else { return false }
            state.instances = snapshot.instances
            return true
        }
        if changed { replan() }
    }

    private func replan() {
        let (checks, instances) = state.withLock { ($0.checks, $0.instances) }
        guard let checks, let instances else { return }
        let plan = setup.plan(checks: checks, instances: instances)
        evaluator.apply(plan: plan)
        apply(plan)
        logger.debug("plan", metadata: ["jobs": "\(plan.jobs.count)", "instances": "\(instances.count)"])
    }

    /// The last good copy of the local catalogue, loaded, when one exists and loads without an error.
    private func lastGoodResult() -> CatalogueLoadResult? {
        let copy = setup.lastGoodCatalogue
        guard let bundle = copy.load() else { return nil }
        let result = bundle.load(with: setup.catalogueLoader, environment: setup.environment, origin: copy.directory)
        return result.errors.isEmpty ? result : nil
    }

    /// Names, sizes and modification times of the catalogue's files: cheap to take every few seconds.
    static func fingerprint(of source: DaemonSetup.CatalogueSource) -> String {
        guard case .directory(let directory) = source else { return "embedded" }
        let manager = FileManager.default
        var parts: [String] = []
        for folder in [directory, directory + "/environments"] {
            let names = ((try? manager.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            for name in names where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                let attributes = try? manager.attributesOfItem(atPath: folder + "/" + name)
                let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
                let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                parts.append("\(folder)/\(name):\(size):\(modified)")
            }
        }
        return parts.joined(separator: "\n")
    }
}
