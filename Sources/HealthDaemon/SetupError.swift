/// A setup problem the user can fix (a bad hive.toml, an unknown inventory source...).
public struct SetupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
