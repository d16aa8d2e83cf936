/// A CloudWatch API error: the Query code (`InvalidParameterValue`), the modelled exception it travels as in the JSON
/// and CBOR protocols (`InvalidParameterValueException`), the HTTP status and a message.
public typealias CloudWatchError = AWSError<CloudWatchErrors>

/// The domain of ``CloudWatchError``.
public enum CloudWatchErrors: AWSErrorDomain {}

extension AWSError.Code where Service == CloudWatchErrors {
    public static var invalidParameterValue: Self {
        Self("InvalidParameterValue", exception: "InvalidParameterValueException")
    }
    public static var invalidParameterCombination: Self {
        Self("InvalidParameterCombination", exception: "InvalidParameterCombinationException")
    }
    public static var missingParameter: Self {
        Self("MissingParameter", exception: "MissingRequiredParameterException")
    }
    public static var malformedInput: Self { Self("MalformedInput", exception: "SerializationException") }
    public static var invalidNextToken: Self { Self("InvalidNextToken") }
    public static var invalidAction: Self { Self("InvalidAction") }
    public static var unsupportedOperation: Self { Self("UnsupportedOperation") }
    public static var authFailure: Self { Self("AuthFailure", httpStatus: 401) }
    public static var incompleteSignature: Self { Self("IncompleteSignature", httpStatus: 403) }
    public static var signatureDoesNotMatch: Self { Self("SignatureDoesNotMatch", httpStatus: 403) }
    public static var requestTooLarge: Self { Self("RequestEntityTooLarge", httpStatus: 413) }
}

extension AWSError where Service == CloudWatchErrors {
    /// An EC2 error (SigV4's, say) as CloudWatch reports it.
    init(_ error: EC2Error) {
        let code: Code =
            switch error.code.rawValue {
            case EC2Error.Code.signatureDoesNotMatch.rawValue: .signatureDoesNotMatch
            case EC2Error.Code.authFailure.rawValue: .authFailure
            case EC2Error.Code.missingParameter.rawValue: .missingParameter
            default: .invalidParameterValue
            }
        self.init(code, error.message)
    }
}
