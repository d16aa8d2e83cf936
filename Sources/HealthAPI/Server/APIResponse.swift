import Hummingbird
import NIOCore

/// One HTTP answer of the API's address, whatever the protocol: status, content type, extra headers and body bytes.
/// The API's handlers make them (the initialiser is the module's); the server writes them out.
public struct APIResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var headers: [(name: String, value: String)] = []
    public var body: [UInt8]
    public var requestID: String
}

extension APIResponse {
    /// An EC2 Query answer (XML).
    init(_ response: EC2QueryHandler.Response) {
        self.init(
            status: response.status, contentType: "text/xml;charset=UTF-8", body: Array(response.body.utf8),
            requestID: response.requestID)
    }
}

extension APIResponse {
    /// As Hummingbird sends it, with `x-amzn-RequestId`.
    var response: Response {
        var fields: HTTPFields = [.contentType: contentType, .init("x-amzn-RequestId")!: requestID]
        for header in headers {
            if let name = HTTPFields.Element.Name(header.name) { fields[name] = header.value }
        }
        return Response(
            status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
