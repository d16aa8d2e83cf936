import CAtaSmart
import Foundation
import HealthIO

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A disk's SMART health as libatasmart sees it.
public struct SMARTReport: Sendable, Hashable {
    /// libatasmart's overall verdict (SkSmartOverall), from good to the worst.
    public enum Overall: String, Sendable, Hashable {
        case good
        case badAttributeInThePast = "bad attribute in the past"
        case badSector = "bad sectors"
        case badAttributeNow = "pre-fail attribute over its threshold now"
        case badSectorMany = "many bad sectors"
        case badStatus = "SMART self-assessment negative"
        case unknown

        /// The verdicts that mean the disk is failing now (a bad attribute in the past is history).
        public var isBad: Bool { self != .good && self != .badAttributeInThePast && self != .unknown }
    }

    public var overall: Overall
    /// The disk's own self-assessment (`SMART RETURN STATUS`), when it gave one.
    public var selfAssessmentGood: Bool?
    /// Reallocated plus pending sectors.
    public var badSectors: UInt64?
    public var temperatureCelsius: Double?
    public var powerOnHours: Double?
    public var model: String?
}

/// What reading a disk's SMART data gave.
public enum SMARTReading: Sendable, Hashable {
    case report(SMARTReport)
    /// The disk is in standby or sleep: not read, so as not to spin it up.
    case asleep
    /// The device has no SMART (virtio, NVMe without ATA passthrough, a USB bridge libatasmart cannot drive).
    case unsupported(String)
}

/// Why SMART data could not be read (the reader's own trouble: no permission, no such device, a bad blob).
public struct SMARTError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads SMART data through libatasmart, from a block device (power mode checked first: a disk in standby is never
/// woken) or from a blob (`sk_disk_get_blob` format: IDFY/SMST/SMDT/SMTH records). libatasmart's calls block (its
/// ATA commands time out after 2 s), so they run on ``BlockingPool``, never on the cooperative pool.
public enum SMARTReader {
    /// The largest blob accepted (four records of at most 512 bytes and their headers).
    public static let maxBlobBytes = 4096

    /// Reads the block device at `path` (e.g. `/dev/sda`).
    public static func read(device path: String) async -> Result<SMARTReading, SMARTError> {
        await BlockingPool.run { _ in readSynchronously(device: path) }
    }

    /// Reads SMART data from `blob` (a test fixture or a saved disk).
    public static func read(blob: [UInt8]) -> Result<SMARTReading, SMARTError> {
        guard !blob.isEmpty, blob.count <= maxBlobBytes else {
            return .failure(SMARTError("a SMART blob of \(blob.count) bytes (1...\(maxBlobBytes) accepted)"))
        }
        var disk: OpaquePointer?
        guard sk_disk_open(nil, &disk) == 0, let disk else {
            return .failure(SMARTError("sk_disk_open(NULL): \(String(cString: strerror(errno)))"))
        }
        defer { sk_disk_free(disk) }
        let loaded = blob.withUnsafeBytes { sk_disk_set_blob(disk, $0.baseAddress, $0.count) }
        guard loaded == 0 else { return .failure(SMARTError("not a valid SMART blob (sk_disk_set_blob failed)")) }
        return report(disk)
    }

    /// What `CHECK POWER MODE` (hdparm -C) says, asked before libatasmart opens the disk (its IDENTIFY could spin
    /// some disks up).
    enum PowerMode: Equatable {
        case active
        case standby
    }

    /// `HDIO_DRIVE_CMD`: not imported from <linux/hdreg.h>.
    static let hdioDriveCommand: UInt = 0x031f
    static let ataCheckPowerMode: UInt8 = 0xE5

    /// The power mode of the ATA disk at `path`, nil when the ioctl is not supported (not ATA, no permission).
    static func powerMode(_ path: String) -> PowerMode? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var arguments: [UInt8] = [ataCheckPowerMode, 0, 0, 0]
        let result = arguments.withUnsafeMutableBytes { ioctl(fd, hdioDriveCommand, $0.baseAddress!) }
        guard result == 0 else { return nil }
        // The sector count register: 0x00 standby, 0x80 idle, 0xFF active or idle (0x40/0x41: NV cache spun down).
        switch arguments[2] {
        case 0x00, 0x40, 0x41: return .standby
        default: return .active
        }
    }

    static func readSynchronously(device path: String) -> Result<SMARTReading, SMARTError> {
        if powerMode(path) == .standby { return .success(.asleep) }
        var disk: OpaquePointer?
        guard sk_disk_open(path, &disk) == 0, let disk else {
            let code = errno
            if code == ENODEV { return .success(.unsupported("\(path) is not a block device")) }
            return .failure(SMARTError("\(path): \(String(cString: strerror(code)))"))
        }
        defer { sk_disk_free(disk) }
        var available: SkBool = 0
        guard sk_disk_smart_is_available(disk, &available) == 0, available != 0 else {
            return .success(.unsupported("\(path) has no SMART"))
        }
        var awake: SkBool = 0
        guard sk_disk_check_sleep_mode(disk, &awake) == 0 else {
            // Without knowing the power mode, reading could spin the disk up: do not.
            let reason = String(cString: strerror(errno))
            return .success(.unsupported("\(path): its power mode cannot be read (\(reason))"))
        }
        if awake == 0 { return .success(.asleep) }
        guard sk_disk_smart_read_data(disk) == 0 else {
            return .failure(SMARTError("\(path): reading SMART data: \(String(cString: strerror(errno)))"))
        }
        return report(disk)
    }

    static func report(_ disk: OpaquePointer) -> Result<SMARTReading, SMARTError> {
        var available: SkBool = 0
        guard sk_disk_smart_is_available(disk, &available) == 0, available != 0 else {
            return .success(.unsupported("no SMART in the identify data"))
        }
        var good: SkBool = 0
        let selfAssessment: Bool? = sk_disk_smart_status(disk, &good) == 0 ? good != 0 : nil
        var overallValue = SkSmartOverall(rawValue: 0)
        let overall: SMARTReport.Overall
        if sk_disk_smart_get_overall(disk, &overallValue) == 0 {
            switch overallValue {
            case SK_SMART_OVERALL_GOOD: overall = .good
            case SK_SMART_OVERALL_BAD_ATTRIBUTE_IN_THE_PAST: overall = .badAttributeInThePast
            case SK_SMART_OVERALL_BAD_SECTOR: overall = .badSector
            case SK_SMART_OVERALL_BAD_ATTRIBUTE_NOW: overall = .badAttributeNow
            case SK_SMART_OVERALL_BAD_SECTOR_MANY: overall = .badSectorMany
            case SK_SMART_OVERALL_BAD_STATUS: overall = .badStatus
            default: overall = .unknown
            }
        } else {
            overall = selfAssessment == false ? .badStatus : .unknown
        }
        var value: UInt64 = 0
        let bad: UInt64? = sk_disk_smart_get_bad(disk, &value) == 0 ? value : nil
        let temperature: Double? =
            sk_disk_smart_get_temperature(disk, &value) == 0 ? (Double(value) - 273_150) / 1000 : nil
        let powerOn: Double? = sk_disk_smart_get_power_on(disk, &value) == 0 ? Double(value) / 3_600_000 : nil
        var identify: UnsafePointer<SkIdentifyParsedData>?
        var model: String?
        if sk_disk_identify_parse(disk, &identify) == 0, let identify {
            model = withUnsafeBytes(of: identify.pointee.model) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }.trimmingCharacters(in: .whitespaces)
        }
        return .success(
            .report(
                SMARTReport(
                    overall: overall, selfAssessmentGood: selfAssessment, badSectors: bad,
                    temperatureCelsius: temperature, powerOnHours: powerOn, model: model)))
    }
}
