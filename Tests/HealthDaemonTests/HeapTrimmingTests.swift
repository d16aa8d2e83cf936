import Foundation
import Testing

@testable import HealthDaemon

/// Resident memory of this process, in bytes, from /proc/self/statm.
private func residentBytes() throws -> Int {
    let text = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
    let pages = try #require(Int(text.split(separator: " ")[1]))
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

@Suite("Heap trimming")
struct HeapTrimmingTests {
    /// 64 MiB in blocks of 64 KiB (below glibc's mmap threshold: from the heap), touched, freed: trimming gives most of it
    /// back. Loose on purpose (other tests allocate meanwhile): at least a quarter of it must go.
    @Test("freed heap memory is given back to the system")
    func trimGivesMemoryBack() throws {
        // Not `configure()`: the mmap threshold is process-wide, and the other tests of this process must not run
        // under the daemon's allocator settings.
        let blockSize = 64 * 1024
        var blocks: [UnsafeMutableRawPointer] = []
        for _ in 0..<1024 {
            let block = try #require(malloc(blockSize))
            memset(block, 0x5a, blockSize)
            blocks.append(block)
        }
        let held = try residentBytes()
        for block in blocks { free(block) }
        #expect(HeapTrimming.trim())
        let after = try residentBytes()
        #expect(held - after >= 16 << 20, "resident \(held >> 20) MiB before, \(after >> 20) MiB after the trim")
    }
}
