import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser cannot read (an unknown method, a broken request line or header) with EC2's
/// error XML and a 400, then closes the connection. Hummingbird would send an empty 400 for these: it sits in the
/// channel pipeline after the HTTP decoder, where its parse errors pass on their way to the server's request loop.
///
/// The caller's protocol cannot be known from a request that did not parse, so the answer is EC2's, the API's
/// default protocol.
final class MalformedRequestResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    /// Whether this connection already began a response (a pipelined request's): then only closing is left.
    private var responding = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !responding else {
            context.close(promise: nil)
            return
        }
        responding = true
        let requestID = UUID().uuidString.lowercased()
        let body = Array(
            EC2Error(EC2Error.Code("InvalidRequest"), "The request is not valid HTTP/1.1: \(error)")
                .xml(requestID: requestID).utf8)
        let fields: HTTPFields = [
            .contentType: "text/xml;charset=UTF-8", .contentLength: "\(body.count)", .connection: "close",
            HTTPField.Name("x-amzn-RequestId")!: requestID,
        ]
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .badRequest, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        let bound = context.loopBound
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
