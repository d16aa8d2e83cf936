#if canImport(Glibc)
import Glibc
#endif
import ServiceLifecycle
import Synchronization

/// Gives the memory of the daemon's large, rare transients back to the system.
///
/// A plan, a snapshot or a full report of 120,000 checks is built at start and then once in a while; glibc's
/// allocator keeps what they freed for reuse, so without this a daemon holds its start-up peak for ever (measured at
/// 10,000 instances x 12 checks: 305 MiB resident, 205 MiB after one `malloc_trim`).
enum HeapTrimming {
    /// Blocks of at least this size come straight from `mmap` and go back when freed (glibc otherwise raises the
    /// threshold to the largest block freed so far, up to 32 MiB, and keeps such blocks in its heap).
    static let mmapThreshold: Int32 = 256 * 1024

    /// Sets the allocator up for a long-running daemon; once, before the daemon builds its state. Process-wide: only
    /// a process that is the daemon calls it (`hive-health run`), and only then does the daemon trim its heap
    /// (``HeapTrimService``): a process that merely hosts daemons (the tests) keeps its allocator as it is.
    static func configure() {
        // M_MMAP_THRESHOLD in <malloc.h>.
        _ = mallopt?(-3, mmapThreshold)
        configured.store(true, ordering: .relaxed)
    }

    /// ``configure()`` was called in this process.
    static var isConfigured: Bool { configured.load(ordering: .relaxed) }
    private static let configured = Atomic<Bool>(false)

    /// Returns the free pages of every arena to the system; false where there is no such call.
    @discardableResult
    static func trim() -> Bool {
        guard let mallocTrim else { return false }
        _ = mallocTrim(0)
        return true
    }

    // <malloc.h> is not part of Swift's Glibc module: its two calls are looked up in the C library once, by name.
    private static let mallopt = symbol("mallopt", as: (@convention(c) (Int32, Int32) -> Int32).self)
    private static let mallocTrim = symbol("malloc_trim", as: (@convention(c) (Int) -> Int32).self)

    private static func symbol<Function>(_ name: String, as type: Function.Type) -> Function? {
        #if canImport(Glibc)
        guard let address = dlsym(nil, name) else { return nil }
        return unsafeBitCast(address, to: type)
        #else
        return nil
        #endif
    }
}

/// Trims the heap every ``interval`` (a few milliseconds for a large fleet, once in a while).
struct HeapTrimService: Service {
    var interval: Duration

    func run() async throws {
        await every(interval) { HeapTrimming.trim() }
    }
}

extension HealthDaemon {
    /// Sets the process's allocator up for a long-running daemon (``HeapTrimming/configure()``): call once, before
    /// the daemon is made. `hive-health run` does.
    public static func configureAllocator() { HeapTrimming.configure() }
}
