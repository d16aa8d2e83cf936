import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle

extension APIServer {
    /// `GET /fleet.json` (the page's data) and `GET /events` (server-sent events, one `transition` event per
    /// change, ended at graceful shutdown); the page itself is on `GET /` (see ``FleetPage/wanted(method:query:accept:)``).
    static func addFleetRoutes(
        _ router: Router<BasicRequestContext>, source: any InstanceStatusSource, feed: FleetFeed
    ) {
        router.get("/fleet.json") { _, _ -> Response in
            let views = try await source.instanceDetails()
            let document = FleetDocument(views: views, transitions: feed.recent, at: Date())
            let data = try FleetDocument.encoder.encode(document)
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/events") { _, _ -> Response in
            guard let stream = feed.subscribe() else {
                throw HTTPError(.serviceUnavailable, message: "Too many open event streams")
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                body: ResponseBody { writer in
                    // Sent at once so the browser knows the stream is open.
                    try await writer.write(ByteBuffer(string: "retry: 2000\n: hive-health\n\n"))
                    let encoder = FleetDocument.encoder
                    for await transition in stream.cancelOnGracefulShutdown() {
                        let data = (try? encoder.encode(transition)) ?? Data("{}".utf8)
                        try await writer.write(
                            ByteBuffer(string: "event: transition\ndata: " + String(decoding: data, as: UTF8.self) + "\n\n"))
                    }
                    try await writer.finish(nil)
                })
        }
    }

    static func page() -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
            ],
            body: .init(byteBuffer: ByteBuffer(string: FleetPage.html)))
    }
}
