import HealthCatalogue
import HealthNATS
import Logging
import ServiceLifecycle

/// Follows the shared catalogue: watches `current` in `<prefix>-health-catalog` and hands every new release to the
/// planner, which applies it within moments (or keeps the catalogue in force when this node cannot load it).
///
/// A lost watch (NATS outage) is opened again with a backoff; the catalogue in force stays meanwhile.
struct SharedCatalogueService: Service {
    let daemon: HealthDaemon
    let nats: NATSBackbone

    func run() async throws {
        let logger = daemon.logger
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                do throws(CatalogueBucketError) {
                    let bucket = try await CatalogueBucket.open(
                        connection: nats.connection, subjects: daemon.setup.subjects, create: true)
                    let watch: KeyValueWatch
                    do {
                        watch = try await bucket.keyValue.watch(CatalogueBucket.currentKey, bufferSize: 4)
                    } catch {
                        throw CatalogueBucketError(.nats, "cannot watch \(bucket.keyValue.bucket): \(error)")
                    }
                    if failures > 0 { logger.info("shared catalogue: watching \(bucket.keyValue.bucket) again") }
                    failures = 0
                    for await change in watch {
                        guard case .put(let entry) = change else { continue }
                        do {
                            daemon.planner.offer(try CatalogueBucket.decode(entry.value, key: entry.key))
                        } catch {
                            logger.error("shared catalogue: \(error); keeping the catalogue in force")
                        }
                    }
                } catch {
                    if failures == 0 { logger.warning("shared catalogue: \(error)") }
                }
                failures += 1
                let backoff = Duration.milliseconds(min(10_000, 250 << min(failures, 6)))
                guard (try? await Task.sleep(for: backoff)) != nil else { return }
            }
        }
    }
}
