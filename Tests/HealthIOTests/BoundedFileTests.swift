import Foundation
import HealthIO
import HealthTestKit
import Testing

@Suite("BoundedFile: whole files with a bound, /proc included")
struct BoundedFileTests {
    @Test("a file within the bound is read whole; over it, too large; a missing one, missing")
    func bounds() throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-io")
        defer { folder.remove() }
        let path = folder.file("f")
        try Data(repeating: 65, count: 300_000).write(to: URL(fileURLWithPath: path))
        #expect(try BoundedFile.read(path, limit: 300_000).count == 300_000)
        #expect(throws: IOError.self) { try BoundedFile.read(path, limit: 299_999) }
        #expect(try BoundedFile.prefix(path, limit: 10) == Array(repeating: 65, count: 10))
        do {
            _ = try BoundedFile.read(folder.file("none"), limit: 10)
            Issue.record("a missing file was read")
        } catch {
            #expect(error.code == .missing)
            #expect(error.message.contains("cannot open"))
        }
    }

    @Test("a /proc file whose stat size is 0 is read to its end")
    func procFile() throws {
        let bytes = try BoundedFile.read("/proc/self/status", limit: 1 << 20)
        #expect(String(decoding: bytes, as: UTF8.self).contains("Pid:"))
    }
}
