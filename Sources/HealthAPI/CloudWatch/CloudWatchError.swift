/// A CloudWatch API error: the Query code (`InvalidParameterValue`), the modelled exception it travels as in the JSON
/// and CBOR protocols (`InvalidParameterValueException`), the HTTP status and a message.
public struct CloudWatchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One of CloudWatch's error codes.
    public struct Code: Sendable, Hashable {
        public var query: String
        public var exception: String
        public var httpStatus: Int

        public static let invalidParameterValue = Code(
            query: "InvalidParameterValue", exception: "InvalidParameterValueException", httpStatus: 400)
        public static let invalidParameterCombination = Code(
            query: "InvalidParameterCombination", exception: "InvalidParameterCombinationException", httpStatus: 400)
        public static let missingParameter = Code(
            query: "MissingParameter", exception: "MissingRequiredParameterException", httpStatus: 400)
        public static let invalidNextToken = Code(
            query: "InvalidNextToken", exception: "InvalidNextToken", httpStatus: 400)
        public static let invalidAction = Code(query: "InvalidAction", exception: "InvalidAction", httpStatus: 400)
        public static let unsupportedOperation = Code(
            query: "UnsupportedOperation", exception: "UnsupportedOperation", httpStatus: 400)
        public static let malformedInput = Code(
            query: "MalformedInput", exception: "SerializationException", httpStatus: 400)
        public static let incompleteSignature = Code(
            query: "IncompleteSignature", exception: "IncompleteSignature", httpStatus: 403)
        public static let signatureDoesNotMatch = Code(
            query: "SignatureDoesNotMatch", exception: "SignatureDoesNotMatch", httpStatus: 403)
        public static let requestTooLarge = Code(
            query: "RequestEntityTooLarge", exception: "RequestEntityTooLarge", httpStatus: 413)
        public static let authFailure = Code(
            query: "AuthFailure", exception: "AuthFailure", httpStatus: 401)
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
