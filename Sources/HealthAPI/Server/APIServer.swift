import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The HTTP side: the EC2 Query API on `/` (GET and form POST), CloudWatch on the same address (its three protocols,
/// see ``CloudWatchWire``), the fleet page (``FleetPage``: `GET /` from a browser, `/fleet.json`, `/events`),
/// `GET /metrics` and `GET /healthz`, on Hummingbird, run as a `Service` of the daemon's group (stops on graceful
/// shutdown). Every error, the router's own included, is an AWS error document (``AWSErrorMiddleware``).
public struct APIServer: Service {
    /// Why the server would not start.
    public struct SetupError: Error, CustomStringConvertible {
        public struct Code: Hashable, Sendable {
            let name: String
            public static let badListenAddress = Code(name: "badListenAddress")
            public static let unauthenticatedNonLoopback = Code(name: "unauthenticatedNonLoopback")
        }

        public var code: Code
        public var description: String
    }

    public let host: String
    public let port: Int
    let handler: EC2QueryHandler
    let cloudWatch: CloudWatchHandler?
    let feed: FleetFeed?
    let metricsText: @Sendable () async -> HealthMetrics.Chunks
    let healthy: @Sendable () -> Bool
    let onListening: @Sendable (Int) -> Void
    let logger: Logger

    /// - Parameters:
    ///   - listen: `host:port` (`[health.api] listen`); port 0 picks a free port, told to `onListening`.
    ///   - metricsText: the `/metrics` body (refreshes the gauges before rendering), sent chunk by chunk as made.
    ///   - healthy: `/healthz` answers 200 while true, 503 otherwise.
    /// - Throws: ``SetupError`` when `listen` is malformed, or names a non-loopback address while the handler has no
    ///   verifier (no access keys).
    public init(
        listen: String, handler: EC2QueryHandler, cloudWatch: CloudWatchHandler? = nil, feed: FleetFeed? = nil,
        metricsText: @escaping @Sendable () async -> HealthMetrics.Chunks,
        healthy: @escaping @Sendable () -> Bool = { true }, onListening: @escaping @Sendable (Int) -> Void = { _ in },
        logger: Logger
    ) throws {
        guard let (host, port) = Self.split(listen) else {
            throw SetupError(code: .badListenAddress, description: "[health.api] listen: '\(listen)' is not host:port")
        }
        if handler.verifier == nil, !Self.isLoopback(host) {
            throw SetupError(
                code: .unauthenticatedNonLoopback,
                description: "[health.api] listen: \(listen) is not a loopback address and no access keys are "
                    + "configured ([health.api.credentials]): refusing to serve the API unauthenticated")
        }
        self.host = host
        self.port = port
        self.handler = handler
        self.cloudWatch = cloudWatch
        self.feed = feed
        self.metricsText = metricsText
        self.healthy = healthy
        self.onListening = onListening
        self.logger = logger
    }

    static func split(_ listen: String) -> (String, Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public func run() async throws {
        let router = Router()
        router.add(middleware: AWSErrorMiddleware(cloudWatch: cloudWatch != nil))
        let handler = self.handler
        let maxBody = EC2API.maxRequestBytes
        let cloudWatch = self.cloudWatch
        @Sendable func query(_ request: Request, context: BasicRequestContext) async throws -> Response {
            var headers: [(name: String, value: String)] = []
            for field in request.headers { headers.append((field.name.canonicalName, field.value)) }
            if let authority = request.head.authority { headers.append(("host", authority)) }
            var apiRequest = EC2QueryHandler.Request(
                method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                headers: headers)
            // A larger body throws 413, which AWSErrorMiddleware answers in the caller's protocol.
            apiRequest.body = Array(try await request.body.collect(upTo: maxBody).readableBytesView)
            if let cloudWatch, let wire = CloudWatchWire.of(apiRequest) {
                return await cloudWatch.handle(apiRequest, wire: wire).response
            }
            return APIResponse(await handler.handle(apiRequest)).response
        }
        let feed = self.feed ?? FleetFeed()
        router.get("/") { request, context -> Response in
            if FleetPage.wanted(
                method: request.method.rawValue, query: request.uri.query ?? "", accept: request.headers[.accept])
            {
                return Self.page()
            }
            return try await query(request, context: context)
        }
        Self.addFleetRoutes(router, source: handler.source, feed: feed)
        router.post("/", use: query)
        router.post("/service/**", use: query)
        let metricsText = self.metricsText
        router.get("/metrics") { _, _ -> Response in
            let chunks = await metricsText()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody { writer in
                    for chunk in chunks { try await writer.write(ByteBuffer(bytes: chunk)) }
                    try await writer.finish(nil)
                })
        }
        let healthy = self.healthy
        router.get("/healthz") { _, _ -> Response in
            let ok = healthy()
            return Response(
                status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: ok ? "ok\n" : "unhealthy\n")))
        }
        let onListening = self.onListening
        let logger = self.logger
        let app = Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [MalformedRequestResponder()], idleTimeout: .seconds(60))),
            configuration: .init(address: .hostname(host, port: port), serverName: "hive-health"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("EC2 API listening", metadata: ["port": "\(port)"])
                onListening(port)
            },
            logger: logger)
        try await app.run()
    }
}
