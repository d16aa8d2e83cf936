/// An error of one module: a code naming the kind of failure and a message, described as `<code>: <message>`.
///
/// A module names its error type over a domain of its own (`typealias InventoryError = CodedError<InventoryErrors>`)
/// and declares its codes in an extension of ``Code`` constrained to that domain, so codes can be added without
/// breaking callers and the error struct is not written again in every module.
public struct CodedError<Domain>: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
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
