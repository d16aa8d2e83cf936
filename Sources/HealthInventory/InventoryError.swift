/// Why an inventory source, or an inventory specification, could not be used at all.
public struct InventoryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure, extensible without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String

        /// The file could not be opened or read.
        public static let unreadable = Code(name: "unreadable")
        /// The file is larger than the source accepts.
        public static let tooLarge = Code(name: "too large")
        /// The document is not JSON, or its top level (or `vms`) is not an object.
        public static let invalidDocument = Code(name: "invalid document")
        /// An `--inventory` / `[health.inventory] source` value that names no source.
        public static let invalidSpec = Code(name: "invalid inventory specification")

        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
