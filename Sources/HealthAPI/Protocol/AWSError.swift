/// An AWS API error: one of a service's error codes with its HTTP status, and a message, described as
/// `<code>: <message>`.
///
/// A service names its error type over a domain of its own (`typealias EC2Error = AWSError<EC2Errors>`) and
/// declares its codes in an extension of ``Code`` constrained to that domain, so the error struct is written once
/// for EC2 and CloudWatch (the pattern of HealthCore's `CodedError`, with AWS's HTTP status and exception name).
public struct AWSError<Service: AWSErrorDomain>: Error, Sendable, Hashable, CustomStringConvertible {
    /// One of the service's error codes.
    public struct Code: Sendable, Hashable {
        /// The code as the Query protocol sends it (the `Code` element of the error XML): `InvalidParameterValue`.
        public var rawValue: String
        /// The modelled exception the code travels as in the JSON and CBOR protocols: the code itself unless the
        /// service's model renames it (`InvalidParameterValueException`).
        public var exception: String
        /// The HTTP status AWS answers with for this code.
        public var httpStatus: Int

        /// Most codes are client errors (400) and travel under their own name.
        public init(_ rawValue: String, exception: String? = nil, httpStatus: Int = 400) {
            (self.rawValue, self.exception, self.httpStatus) = (rawValue, exception ?? rawValue, httpStatus)
        }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// The domain of an ``AWSError``: an empty enum naming one service's errors.
public protocol AWSErrorDomain {}
