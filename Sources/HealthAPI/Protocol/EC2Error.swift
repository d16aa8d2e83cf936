/// An EC2 API error: one of AWS's error codes with its HTTP status, and a message.
public typealias EC2Error = AWSError<EC2Errors>

/// The domain of ``EC2Error``.
public enum EC2Errors: AWSErrorDomain {}

extension AWSError.Code where Service == EC2Errors {
    public static var invalidParameterValue: Self { Self("InvalidParameterValue") }
    public static var invalidParameterCombination: Self { Self("InvalidParameterCombination") }
    public static var invalidInstanceIDMalformed: Self { Self("InvalidInstanceID.Malformed") }
    public static var invalidInstanceIDNotFound: Self { Self("InvalidInstanceID.NotFound") }
    public static var missingParameter: Self { Self("MissingParameter") }
    public static var invalidAction: Self { Self("InvalidAction") }
    public static var authFailure: Self { Self("AuthFailure", httpStatus: 401) }
    public static var signatureDoesNotMatch: Self { Self("SignatureDoesNotMatch", httpStatus: 403) }
    public static var dryRunOperation: Self { Self("DryRunOperation", httpStatus: 412) }
    public static var unsupportedOperation: Self { Self("UnsupportedOperation") }
    public static var incorrectInstanceState: Self { Self("IncorrectInstanceState") }
    public static var requestTooLarge: Self { Self("RequestEntityTooLarge", httpStatus: 413) }
    public static var internalError: Self { Self("InternalError", httpStatus: 500) }
}
