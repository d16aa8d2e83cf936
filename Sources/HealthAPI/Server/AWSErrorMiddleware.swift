import Foundation
import Hummingbird
import NIOCore

/// Turns whatever the router itself refuses (an unknown path, an odd method, a body too large, a handler's thrown
/// error) into an AWS error document in the caller's protocol, so no answer of the API's address is an empty body:
/// CloudWatch's for requests that speak one of its protocols, EC2's error XML otherwise.
struct AWSErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let cloudWatch: Bool

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            let message =
                (error as? HTTPError)?.body
                ?? (status == 413 ? "The request is larger than \(EC2API.maxRequestBytes) bytes." : "The request could not be answered")
            var headers: [(name: String, value: String)] = []
            for field in request.headers { headers.append((field.name.canonicalName, field.value)) }
            let apiRequest = EC2QueryHandler.Request(
                method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                headers: headers)
            let requestID = UUID().uuidString.lowercased()
            let answer: APIResponse
            if cloudWatch, let wire = CloudWatchWire.of(apiRequest) {
                var code = status == 413 ? CloudWatchError.Code.requestTooLarge : CloudWatchError.Code.invalidAction
                code.httpStatus = status
                answer = wire.error(CloudWatchError(code, message), requestID: requestID)
            } else {
                let code =
                    switch status {
                    case 413: EC2Error.Code.requestTooLarge
                    case 503: EC2Error.Code("Unavailable", httpStatus: 503)
                    case 500...: EC2Error.Code.internalError
                    default: EC2Error.Code("InvalidAction", httpStatus: status)
                    }
                let text =
                    status == 404 || status == 405
                    ? "No action at \(request.method.rawValue) \(request.uri.path.prefix(200))" : message
                answer = APIResponse(
                    EC2QueryHandler.Response(
                        status: code.httpStatus, body: EC2Error(code, text).xml(requestID: requestID),
                        requestID: requestID))
            }
            return answer.response
        }
    }
}
