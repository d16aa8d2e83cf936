import HealthBlock
import HealthTestKit
import Testing

/// libatasmart on blob disks (`sk_disk_open(NULL)` + `sk_disk_set_blob`) with blobs the tests generate.
@Suite struct SMARTReaderTests {
    func report(_ blob: SMARTBlob) throws -> SMARTReport {
        guard case .report(let report) = try SMARTReader.read(blob: blob.bytes).get() else {
            Issue.record("no report")
            throw SMARTError("no report")
        }
        return report
    }

    @Test func aHealthyDiskIsGood() throws {
        let healthy = try report(.healthy(celsius: 35, powerOnHours: 1000))
        #expect(healthy.overall == .good)
        #expect(healthy.selfAssessmentGood == true)
        #expect(healthy.badSectors == 0)
        #expect(healthy.temperatureCelsius == 35)
        #expect(healthy.powerOnHours == 1000)
        #expect(healthy.model == "HIVE TEST DISK")
    }

    @Test func aNegativeSelfAssessmentIsBadStatus() throws {
        let failing = try report(.failing(reallocated: 24, pending: 8))
        #expect(failing.overall == .badStatus)
        #expect(failing.overall.isBad)
        #expect(failing.selfAssessmentGood == false)
        #expect(failing.badSectors == 32)
    }

    @Test func reallocatedSectorsAloneAreBadSectors() throws {
        let blob = SMARTBlob(
            attributes: SMARTBlob.standardAttributes(reallocated: 3, pending: 0, celsius: 30, hours: 10))
        let worn = try report(blob)
        #expect(worn.overall == .badSector)
        #expect(worn.badSectors == 3)
    }

    @Test func aPreFailAttributeUnderItsThresholdIsBadNow() throws {
        var blob = SMARTBlob.healthy()
        // raw-read-error-rate, pre-fail, under its threshold (a failing reallocated-sector-count would count as
        // many bad sectors instead).
        blob.attributes.append(
            SMARTBlob.Attribute(id: 1, flags: 0x0f, current: 40, worst: 40, raw: 0, threshold: 51))
        let worn = try report(blob)
        #expect(worn.overall == .badAttributeNow, "\(worn)")
    }

    @Test func garbageIsRefused() {
        #expect(throws: SMARTError.self) { try SMARTReader.read(blob: [1, 2, 3]).get() }
        #expect(throws: SMARTError.self) { try SMARTReader.read(blob: []).get() }
        #expect(throws: SMARTError.self) {
            try SMARTReader.read(blob: [UInt8](repeating: 0, count: SMARTReader.maxBlobBytes + 1)).get()
        }
    }
}
