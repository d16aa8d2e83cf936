/// One HTTP request to the API's address, whatever the protocol, as the handlers and the SigV4 verifier need it.
public struct APIRequest: Sendable {
    public var method: String
    /// The path as sent (percent-encoded).
    public var path: String
    /// The query string as sent (percent-encoded), without `?`.
    public var query: String
    /// Header names in lowercase; `host` is the request's authority.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(
        method: String, path: String = "/", query: String = "", headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}
