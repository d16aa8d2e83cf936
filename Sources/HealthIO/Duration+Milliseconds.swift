extension Duration {
    /// The duration in whole milliseconds, rounded down and saturating (poll(2), libnats and the like take these).
    public var wholeMilliseconds: Int64 {
        let milliseconds = (self / .milliseconds(1)).rounded(.down)
        // A Double holds whole milliseconds exactly up to 2^53 (285,000 years); beyond Int64 it saturates.
        guard milliseconds < 0x1p63 else { return .max }
        guard milliseconds >= -0x1p63 else { return .min }
        return Int64(milliseconds)
    }

    /// A poll(2) timeout for waiting at most this long in slices of at most `slice` milliseconds: rounded up, so the
    /// last millisecond before a deadline is one wait and not a spin, and never below 1 for a positive duration.
    func pollMilliseconds(slice: Int32) -> Int32 {
        let (seconds, attoseconds) = components
        guard seconds < Int64(slice) / 1000 + 1 else { return slice }
        let whole = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let roundedUp = attoseconds % 1_000_000_000_000_000 == 0 ? whole : whole + 1
        return Int32(max(1, min(Int64(slice), roundedUp)))
    }
}
