/// Numbers as a person reads them in observation messages.
enum ReadableUnits {
    /// `123 B`, `4.0 KiB`, `1.5 GiB`.
    static func bytes(_ count: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = count
        var index = 0
        while abs(value) >= 1024, index < units.count - 1 {
            value /= 1024
            index += 1
        }
        return index == 0 ? "\(Int(value)) B" : "\(decimal(value, places: 1)) \(units[index])"
    }

    static func bytes(_ count: UInt64) -> String { bytes(Double(count)) }

    /// `value` rounded to `places` decimals, without a trailing `.0` for whole numbers when `places` is 0.
    static func decimal(_ value: Double, places: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if places == 0 { return "\(Int(rounded))" }
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return "\(Int(rounded)).0" }
        return "\(rounded)"
    }
}
