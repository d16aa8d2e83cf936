/// SMART data of a made-up ATA disk in libatasmart's blob format (`sk_disk_set_blob`): tagged records `IDFY`
/// (identify data), `SMST` (self-assessment), `SMDT` (attribute values) and `SMTH` (thresholds), each a 4-byte tag,
/// a big-endian length and the data. Tests build good and failing disks with it.
public struct SMARTBlob: Sendable {
    /// One SMART attribute.
    public struct Attribute: Sendable {
        public var id: UInt8
        /// Bit 0 pre-fail, bit 1 online.
        public var flags: UInt16
        public var current: UInt8
        public var worst: UInt8
        public var raw: UInt64
        public var threshold: UInt8

        public init(id: UInt8, flags: UInt16, current: UInt8, worst: UInt8, raw: UInt64, threshold: UInt8) {
            self.id = id
            self.flags = flags
            self.current = current
            self.worst = worst
            self.raw = raw
            self.threshold = threshold
        }
    }

    public var model: String
    public var selfAssessmentGood: Bool
    public var attributes: [Attribute]

    public init(model: String = "HIVE TEST DISK", selfAssessmentGood: Bool = true, attributes: [Attribute]) {
        self.model = model
        self.selfAssessmentGood = selfAssessmentGood
        self.attributes = attributes
    }

    /// A healthy disk: no reallocated or pending sectors, `celsius`, `powerOnHours`.
    public static func healthy(celsius: UInt64 = 35, powerOnHours: UInt64 = 1000) -> SMARTBlob {
        SMARTBlob(attributes: standardAttributes(reallocated: 0, pending: 0, celsius: celsius, hours: powerOnHours))
    }

    /// A failing disk: the self-assessment is negative and sectors were reallocated.
    public static func failing(reallocated: UInt64 = 24, pending: UInt64 = 8) -> SMARTBlob {
        SMARTBlob(
            selfAssessmentGood: false,
            attributes: standardAttributes(reallocated: reallocated, pending: pending, celsius: 41, hours: 30000))
    }

    /// Reallocated (5), power-on hours (9), temperature (194) and pending sectors (197).
    public static func standardAttributes(reallocated: UInt64, pending: UInt64, celsius: UInt64, hours: UInt64)
        -> [Attribute]
    {
        [
            Attribute(id: 5, flags: 0x33, current: 100, worst: 100, raw: reallocated, threshold: 10),
            Attribute(id: 9, flags: 0x32, current: 90, worst: 90, raw: hours, threshold: 0),
            Attribute(
                id: 194, flags: 0x22, current: 100 - UInt8(min(celsius, 99)), worst: 40, raw: celsius, threshold: 0),
            Attribute(id: 197, flags: 0x32, current: 100, worst: 100, raw: pending, threshold: 0),
        ]
    }

    /// The blob.
    public var bytes: [UInt8] {
        var identify = [UInt8](repeating: 0, count: 512)
        // Model: words 27...46, two characters per word, high byte first.
        let name = Array(model.utf8.prefix(40)) + [UInt8](repeating: 0x20, count: max(0, 40 - model.utf8.count))
        for index in stride(from: 0, to: 40, by: 2) {
            identify[54 + index] = name[index + 1]
            identify[54 + index + 1] = name[index]
        }
        identify[164] |= 1  // word 82 bit 0: SMART supported
        identify[170] |= 1  // word 85 bit 0: SMART enabled
        identify[510] = 0xA5
        Self.seal(&identify)

        var data = [UInt8](repeating: 0, count: 512)
        var thresholds = [UInt8](repeating: 0, count: 512)
        data[0] = 0x10
        thresholds[0] = 0x10
        for (index, attribute) in attributes.prefix(30).enumerated() {
            let offset = 2 + index * 12
            data[offset] = attribute.id
            data[offset + 1] = UInt8(attribute.flags & 0xff)
            data[offset + 2] = UInt8(attribute.flags >> 8)
            data[offset + 3] = attribute.current
            data[offset + 4] = attribute.worst
            for byte in 0..<6 { data[offset + 5 + byte] = UInt8((attribute.raw >> (8 * UInt64(byte))) & 0xff) }
            thresholds[offset] = attribute.id
            thresholds[offset + 1] = attribute.threshold
        }
        Self.seal(&data)
        Self.seal(&thresholds)

        var blob: [UInt8] = []
        Self.append(&blob, tag: "IDFY", identify)
        Self.append(&blob, tag: "SMST", [0, 0, 0, selfAssessmentGood ? 1 : 0])
        Self.append(&blob, tag: "SMDT", data)
        Self.append(&blob, tag: "SMTH", thresholds)
        return blob
    }

    /// The last byte makes the 512 bytes sum to zero (ATA's checksum).
    private static func seal(_ block: inout [UInt8]) {
        let sum = block[0..<511].reduce(UInt8(0)) { $0 &+ $1 }
        block[511] = 0 &- sum
    }

    private static func append(_ blob: inout [UInt8], tag: String, _ data: [UInt8]) {
        blob += Array(tag.utf8)
        let length = UInt32(data.count)
        blob += [UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)]
        blob += data
    }
}
