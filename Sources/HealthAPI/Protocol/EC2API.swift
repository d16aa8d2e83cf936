/// The EC2 Query protocol's constants, as the API serves it.
public enum EC2API {
    /// The only API version served (`Version=2016-11-15`, what the aws CLI and the SDKs send).
    public static let version = "2016-11-15"
    /// The XML namespace of every successful response.
    public static let namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"
    /// The largest request (form body or query string) accepted, in bytes.
    public static let maxRequestBytes = 256 * 1024
    /// The most parameters one request may carry.
    public static let maxParameters = 4096
}
