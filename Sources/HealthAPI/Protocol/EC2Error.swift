/// An EC2 API error: one of AWS's error codes with its HTTP status, and a message.
public struct EC2Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// AWS's error code (the `Code` element of the error XML).
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        /// The HTTP status AWS answers with for this code.
        public var httpStatus: Int

        public init(rawValue: String) {
            self.rawValue = rawValue
            self.httpStatus = 400
        }

        public init(_ rawValue: String, httpStatus: Int) {
            self.rawValue = rawValue
            self.httpStatus = httpStatus
        }

        public static let invalidParameterValue = Code("InvalidParameterValue", httpStatus: 400)
        public static let invalidParameterCombination = Code("InvalidParameterCombination", httpStatus: 400)
        public static let invalidInstanceIDMalformed = Code("InvalidInstanceID.Malformed", httpStatus: 400)
        public static let invalidInstanceIDNotFound = Code("InvalidInstanceID.NotFound", httpStatus: 400)
        public static let missingParameter = Code("MissingParameter", httpStatus: 400)
        public static let invalidAction = Code("InvalidAction", httpStatus: 400)
        public static let authFailure = Code("AuthFailure", httpStatus: 401)
        public static let signatureDoesNotMatch = Code("SignatureDoesNotMatch", httpStatus: 403)
        public static let dryRunOperation = Code("DryRunOperation", httpStatus: 412)
        public static let unsupportedOperation = Code("UnsupportedOperation", httpStatus: 400)
        public static let incorrectInstanceState = Code("IncorrectInstanceState", httpStatus: 400)
        public static let requestTooLarge = Code("RequestEntityTooLarge", httpStatus: 413)
        public static let internalError = Code("InternalError", httpStatus: 500)
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
