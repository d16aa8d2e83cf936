import Synchronization

/// What a probe remembers between runs of one check on one target (counters, first-seen times), bounded in size.
///
/// Keys are ``HealthCore/ProbeRequest/stateKey``. A key not used for ``forgetAfter`` is dropped, and when more
/// than ``capacity`` keys are held the least recently used go first, so removed checks and targets do not leak.
public final class PerCheckMemory<Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var lastUsed: ContinuousClock.Instant
    }

    private struct Storage {
        var entries: [String: Entry] = [:]
        var lastSweep: ContinuousClock.Instant?
    }

    /// The most keys held at once.
    public let capacity: Int
    /// How long an unused key is kept.
    public let forgetAfter: Duration
    private let storage = Mutex(Storage())

    public init(capacity: Int = 4096, forgetAfter: Duration = .seconds(3600)) {
        self.capacity = max(1, capacity)
        self.forgetAfter = forgetAfter
    }

    /// Runs `body` on the remembered value of `key` (nil the first time) and keeps what it leaves there.
    public func update<Answer>(
        _ key: String, now: ContinuousClock.Instant, _ body: (inout Value?) -> Answer
    ) -> Answer {
        storage.withLock { storage in
            var value = storage.entries[key]?.value
            let result = body(&value)
            if let value {
                storage.entries[key] = Entry(value: value, lastUsed: now)
            } else {
                storage.entries[key] = nil
            }
            Self.sweep(&storage, now: now, capacity: capacity, forgetAfter: forgetAfter)
            return result
        }
    }

    /// The number of keys held.
    public var count: Int { storage.withLock { $0.entries.count } }

    private static func sweep(
        _ storage: inout Storage, now: ContinuousClock.Instant, capacity: Int, forgetAfter: Duration
    ) {
        // Expiry scan at most once a minute; the capacity bound is enforced on every update.
        if storage.lastSweep.map({ now - $0 >= .seconds(60) }) ?? true {
            storage.entries = storage.entries.filter { now - $0.value.lastUsed <= forgetAfter }
            storage.lastSweep = now
        }
        if storage.entries.count > capacity {
            // Down to 90% so a full memory does not sort on every update.
            let excess = storage.entries.count - capacity * 9 / 10
            let oldest = storage.entries.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(excess)
            for (key, _) in oldest { storage.entries[key] = nil }
        }
    }
}
