import HealthCore

/// One problem in hive.toml, a checks.d file or an environment overlay, with where it is and which key it concerns.
///
/// Its ``description`` is `file:line:column: key: message`, the shape editors and CI annotations understand.
public struct CatalogueError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is, for callers that react to some of them (e.g. a missing directory).
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The file or directory could not be read.
        public static let unreadable = Code(rawValue: "unreadable")
        /// The file is over the size limit.
        public static let tooLarge = Code(rawValue: "too-large")
        /// The file is not valid UTF-8.
        public static let encoding = Code(rawValue: "encoding")
        /// YAML or TOML syntax error.
        public static let syntax = Code(rawValue: "syntax")
        /// Nesting, alias expansion or error count over the limits that keep loading bounded.
        public static let limit = Code(rawValue: "limit")
        /// A key that is not part of the format.
        public static let unknownKey = Code(rawValue: "unknown-key")
        /// A required key is absent.
        public static let missingKey = Code(rawValue: "missing-key")
        /// A value of the wrong type.
        public static let type = Code(rawValue: "type")
        /// A value of the right type that is not acceptable (range, unknown name, bad duration).
        public static let value = Code(rawValue: "value")
        /// A check name defined twice.
        public static let duplicate = Code(rawValue: "duplicate")
        /// The environment overlay named does not exist.
        public static let unknownEnvironment = Code(rawValue: "unknown-environment")
    }

    public var file: String
    /// 1-based; 0 when the problem concerns the whole file.
    public var line: Int
    /// 1-based, in Unicode scalars; 0 when the problem concerns the whole file.
    public var column: Int
    /// The setting concerned, as a path: `checks[3].params.pid_file`, `health.thresholds.qmp_timeout`; may be empty.
    public var key: String
    public var message: String
    public var code: Code

    public init(file: String, line: Int, column: Int, key: String, message: String, code: Code = .value) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
        self.code = code
    }

    init(_ location: SourceLocation, key: String, message: String, code: Code = .value) {
        self.init(file: location.file, line: location.line, column: location.column, key: key, message: message,
                  code: code)
    }

    /// Where the problem is, as a ``SourceLocation``.
    public var location: SourceLocation { SourceLocation(file: file, line: line, column: column) }

    public var description: String {
        let place = "\(file):\(line):\(column)"
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}

extension CatalogueError: Encodable {
    /// As `hive-health validate --format json` lists it: where, the key and the message (the code is for callers).
    enum CodingKeys: String, CodingKey {
        case file, line, column, key, message
    }
}
