/// Why the file state store could not load or save.
public struct StateStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure, extensible without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String

        /// Creating, writing, syncing or renaming failed.
        public static let io = Code(name: "i/o error")
        /// The state file is larger than the store accepts.
        public static let tooLarge = Code(name: "too large")
        /// The state file could not be decoded.
        public static let corrupt = Code(name: "corrupt")

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
