/// An error of one module: a code naming the kind of failure and a message, described as `<code>: <message>`.
///
/// A module names its error type over a domain of its own (`typealias InventoryError = CodedError<InventoryErrors>`)
/// and declares its codes in an extension of ``Code`` constrained to that domain, so codes can be added without
/// breaking callers and the error struct is not written again in every module.
public struct CodedError<Domain: ErrorDomain>: Error, Sendable, Hashable, CustomStringConvertible {
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

    /// `<code>: <message>`, or the message alone for a domain whose messages already say what went wrong.
    public var description: String { Domain.describesCode ? "\(code): \(message)" : message }
}

/// The domain of a ``CodedError``: an empty enum naming a module's errors.
public protocol ErrorDomain {
    /// Whether the error's description starts with its code (`true` unless the domain says otherwise).
    static var describesCode: Bool { get }
}

extension ErrorDomain {
    public static var describesCode: Bool { true }
}
