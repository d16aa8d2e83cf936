import Foundation
import HealthCore

/// The three protocols CloudWatch clients speak, with how each carries a request's operation and input, and how each
/// writes answers and errors (botocore's serialize.py and parsers.py; the model's `awsQueryCompatible` trait).
public enum CloudWatchWire: String, Sendable, Hashable {
    /// `POST /service/GraniteServiceVersion20100801/operation/<Op>`, `smithy-protocol: rpc-v2-cbor` (botocore 1.43).
    case cbor
    /// awsJson1_0: `X-Amz-Target: GraniteServiceVersion20100801.<Op>`.
    case json
    /// `Action=<Op>&Version=2010-08-01`, answers in XML.
    case query

    public static let targetPrefix = "GraniteServiceVersion20100801"
    public static let version = "2010-08-01"
    public static let xmlNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"
    static let cborPath = "/service/"

    /// The protocol of a request meant for CloudWatch; nil for anything else (the EC2 Query API).
    public static func of(_ request: EC2QueryHandler.Request) -> CloudWatchWire? {
        if request.path.hasPrefix(cborPath) { return .cbor }
        if let target = request.header("x-amz-target"), target.hasPrefix(targetPrefix) { return .json }
        if let type = request.header("content-type"), type.hasPrefix("application/x-amz-json") { return .json }
        if let type = request.header("content-type"), type.hasPrefix("application/cbor") { return .cbor }
        var parameters = (try? QueryParameters.parse(Array(request.query.utf8))) ?? QueryParameters()
        if parameters["Version"] == nil, request.method == "POST", let body = try? QueryParameters.parse(request.body) {
            parameters.merge(body)
        }
        return parameters["Version"] == version ? .query : nil
    }

    /// The operation's name and its input document.
    func decode(_ request: EC2QueryHandler.Request) throws(CloudWatchError) -> (operation: String, input: WireValue) {
        switch self {
        case .cbor:
            let prefix = Self.cborPath + Self.targetPrefix + "/operation/"
            guard request.path.hasPrefix(prefix), request.method == "POST" else {
                throw CloudWatchError(.invalidAction, "Not a CloudWatch operation: \(request.method) \(request.path)")
            }
            let operation = String(request.path.dropFirst(prefix.count))
            guard request.header("smithy-protocol") == "rpc-v2-cbor" else {
                throw CloudWatchError(.malformedInput, "The smithy-protocol header must be rpc-v2-cbor")
            }
            guard !request.body.isEmpty else { return (operation, .map([])) }
            do {
                return (operation, try CBOR.decode(request.body))
            } catch {
                throw CloudWatchError(.malformedInput, "The body is not valid CBOR: \(error)")
            }
        case .json:
            guard request.method == "POST" else {
                throw CloudWatchError(.invalidAction, "The HTTP method \(request.method) is not supported")
            }
            guard let target = request.header("x-amz-target"), target.hasPrefix(Self.targetPrefix + ".") else {
                throw CloudWatchError(.invalidAction, "X-Amz-Target must name a \(Self.targetPrefix) operation")
            }
            let operation = String(target.dropFirst(Self.targetPrefix.count + 1))
            guard !request.body.isEmpty else { return (operation, .map([])) }
            // The parser recurses per level: a hostile nesting is refused before it is parsed.
            guard JSONNesting.depth(of: request.body, stoppingAbove: Self.maxJSONDepth) <= Self.maxJSONDepth else {
                throw CloudWatchError(.malformedInput, "The JSON body is nested deeper than \(Self.maxJSONDepth)")
            }
            guard let body = try? JSONValue(parsing: request.body, maxDepth: Self.maxJSONDepth) else {
                throw CloudWatchError(.malformedInput, "The body is not valid JSON")
            }
            return (operation, WireValue(json: body))
        case .query:
            guard request.method == "GET" || request.method == "POST" else {
                throw CloudWatchError(.invalidAction, "The HTTP method \(request.method) is not supported")
            }
            var parameters: QueryParameters
            do {
                parameters = try QueryParameters.parse(Array(request.query.utf8))
                if request.method == "POST" { parameters.merge(try QueryParameters.parse(request.body)) }
            } catch {
                throw CloudWatchError(.malformedInput, error.message)
            }
            guard let action = parameters["Action"], !action.isEmpty else {
                throw CloudWatchError(.missingParameter, "The request must contain the parameter Action")
            }
            return (action, try Self.tree(parameters))
        }
    }

    static let maxJSONDepth = 32


    /// The Query protocol's flat `A.member.1.B=x` parameters as a document (`member` lists, nested maps).
    static func tree(_ parameters: QueryParameters) throws(CloudWatchError) -> WireValue {
        final class Node {
            var value: String?
            var children: [String: Node] = [:]
            var order: [String] = []
            func child(_ name: String) -> Node {
                if let node = children[name] { return node }
                let node = Node()
                children[name] = node
                order.append(name)
                return node
            }
        }
        let root = Node()
        for pair in parameters.pairs {
            if ["Action", "Version"].contains(pair.key) || pair.key.hasPrefix("X-Amz-") { continue }
            let segments = pair.key.split(separator: ".", omittingEmptySubsequences: false)
            guard segments.count <= 16, !segments.contains(where: \.isEmpty) else {
                throw CloudWatchError(.invalidParameterValue, "Malformed parameter name \(pair.key.prefix(100))")
            }
            var node = root
            for segment in segments { node = node.child(String(segment)) }
            if node.value == nil { node.value = pair.value }
        }
        func convert(_ node: Node) -> WireValue {
            if node.order.isEmpty { return .string(node.value ?? "") }
            if node.order == ["member"], let members = node.children["member"] {
                let indexed = members.order.compactMap { key in Int(key).map { ($0, key) } }.sorted { $0.0 < $1.0 }
                return .list(indexed.map { convert(members.children[$0.1]!) })
            }
            return .map(node.order.map { WireValue.Entry($0, convert(node.children[$0]!)) })
        }
        return convert(root)
    }

    /// A successful answer.
    func response(operation: String, output: WireValue, requestID: String) -> APIResponse {
        switch self {
        case .cbor:
            return APIResponse(
                status: 200, contentType: "application/cbor", headers: [("smithy-protocol", "rpc-v2-cbor")],
                body: CBOR.encode(output), requestID: requestID)
        case .json:
            let body = output.json.jsonBytes
            return APIResponse(
                status: 200, contentType: "application/x-amz-json-1.0", body: body, requestID: requestID)
        case .query:
            var writer = XMLWriter()
            writer.open(operation + "Response", namespace: Self.xmlNamespace)
            writer.open(operation + "Result")
            if case .map(let entries) = output {
                for entry in entries { Self.xml(entry.key, entry.value, into: &writer) }
            }
            writer.close(operation + "Result")
            writer.element("ResponseMetadata") { $0.element("RequestId", requestID) }
            writer.close(operation + "Response")
            return APIResponse(
                status: 200, contentType: "text/xml;charset=UTF-8", body: writer.bytes,
                requestID: requestID)
        }
    }

    static func xml(_ name: String, _ value: WireValue, into writer: inout XMLWriter) {
        switch value {
        case .null: return
        case .map(let entries):
            writer.element(name) { inner in
                for entry in entries { xml(entry.key, entry.value, into: &inner) }
            }
        case .list(let items):
            writer.element(name) { inner in
                for item in items { xml("member", item, into: &inner) }
            }
        case .bool(let flag): writer.element(name, flag ? "true" : "false")
        case .integer(let number): writer.element(name, String(number))
        case .double(let number): writer.element(name, number.isFinite ? String(number) : "0")
        case .string(let text): writer.element(name, text)
        case .bytes(let data): writer.element(name, Data(data).base64EncodedString())
        case .timestamp(let date):
            writer.element(name, Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date))
        }
    }

    /// An error in the caller's protocol; the JSON and CBOR ones carry `x-amzn-query-error` (awsQueryCompatible).
    func error(_ error: CloudWatchError, requestID: String) -> APIResponse {
        let fault = error.code.httpStatus >= 500 ? "Receiver" : "Sender"
        let queryError = ("x-amzn-query-error", "\(error.code.rawValue);\(fault)")
        let document = WireValue.object([
            ("__type", .string("com.amazonaws.cloudwatch#" + error.code.exception)), ("message", .string(error.message)),
        ])
        switch self {
        case .cbor:
            return APIResponse(
                status: error.code.httpStatus, contentType: "application/cbor",
                headers: [("smithy-protocol", "rpc-v2-cbor"), queryError], body: CBOR.encode(document),
                requestID: requestID)
        case .json:
            let body = document.json.jsonBytes
            return APIResponse(
                status: error.code.httpStatus, contentType: "application/x-amz-json-1.0", headers: [queryError],
                body: body, requestID: requestID)
        case .query:
            var writer = XMLWriter()
            writer.open("ErrorResponse", namespace: Self.xmlNamespace)
            writer.element("Error") { inner in
                inner.element("Type", fault)
                inner.element("Code", error.code.rawValue)
                inner.element("Message", error.message)
            }
            writer.element("RequestId", requestID)
            writer.close("ErrorResponse")
            return APIResponse(
                status: error.code.httpStatus, contentType: "text/xml;charset=UTF-8", body: writer.bytes,
                requestID: requestID)
        }
    }
}

extension EC2QueryHandler.Request {
    /// The first header of that (lowercase) name.
    func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}
