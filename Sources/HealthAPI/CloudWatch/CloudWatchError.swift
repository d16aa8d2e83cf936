/// A CloudWatch API error: the Query code (`InvalidParameterValue`), the modelled exception it travels as in the JSON
/// and CBOR protocols (`InvalidParameterValueException`), the HTTP status and a message.
public struct CloudWatchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One of CloudWatch's error codes.
    public struct Code: Sendable, Hashable {
        public var query: String
        public var exception: String
        public var httpStatus: Int

        /// `exception` is the Query code unless CloudWatch's model renames it; most codes are client errors (400).
        init(_ query: String, exception: String? = nil, httpStatus: Int = 400) {
            (self.query, self.exception, self.httpStatus) = (query, exception ?? query, httpStatus)
        }

        public static let invalidParameterValue = Code(
            "InvalidParameterValue", exception: "InvalidParameterValueException")
        public static let invalidParameterCombination = Code(
            "InvalidParameterCombination", exception: "InvalidParameterCombinationException")
        public static let missingParameter = Code("MissingParameter", exception: "MissingRequiredParameterException")
        public static let malformedInput = Code("MalformedInput", exception: "SerializationException")
        public static let invalidNextToken = Code("InvalidNextToken")
        public static let invalidAction = Code("InvalidAction")
        public static let unsupportedOperation = Code("UnsupportedOperation")
        public static let authFailure = Code("AuthFailure", httpStatus: 401)
        public static let incompleteSignature = Code("IncompleteSignature", httpStatus: 403)
        public static let signatureDoesNotMatch = Code("SignatureDoesNotMatch", httpStatus: 403)
        public static let requestTooLarge = Code("RequestEntityTooLarge", httpStatus: 413)
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// An EC2 error (SigV4's, say) as CloudWatch reports it.
    init(_ error: EC2Error) {
        let code =
            switch error.code.rawValue {
            case EC2Error.Code.signatureDoesNotMatch.rawValue: Code.signatureDoesNotMatch
            case EC2Error.Code.authFailure.rawValue: Code.authFailure
            case EC2Error.Code.missingParameter.rawValue: Code.missingParameter
            default: Code.invalidParameterValue
            }
        self.init(code, error.message)
    }

    public var description: String { "\(code.query): \(message)" }
}
