import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The HTTP side: the EC2 Query API on `/` (GET and form POST), `GET /metrics` and `GET /healthz`, on Hummingbird,
/// run as a `Service` of the daemon's group (stops on graceful shutdown).
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
    let metricsText: @Sendable () async -> String
    let healthy: @Sendable () -> Bool
    let onListening: @Sendable (Int) -> Void
    let logger: Logger

    /// - Parameters:
    ///   - listen: `host:port` (`[health.api] listen`); port 0 picks a free port, told to `onListening`.
    ///   - metricsText: the `/metrics` body (refreshes the gauges before rendering).
    ///   - healthy: `/healthz` answers 200 while true, 503 otherwise.
    /// - Throws: ``SetupError`` when `listen` is malformed, or names a non-loopback address while the handler has no
    ///   verifier (no access keys).
    public init(
        listen: String, handler: EC2QueryHandler, metricsText: @escaping @Sendable () async -> String,
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
        let handler = self.handler
        let maxBody = EC2API.maxRequestBytes
        @Sendable func query(_ request: Request, context: BasicRequestContext) async throws -> Response {
            let body = request.method == .post ? try await request.body.collect(upTo: maxBody) : ByteBuffer()
            var headers: [(name: String, value: String)] = []
            for field in request.headers { headers.append((field.name.canonicalName, field.value)) }
            if let authority = request.head.authority { headers.append(("host", authority)) }
            let answer = await handler.handle(
                EC2QueryHandler.Request(
                    method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                    headers: headers, body: Array(body.readableBytesView)))
            return Response(
                status: .init(code: answer.status),
                headers: [.contentType: "text/xml;charset=UTF-8", .init("x-amzn-RequestId")!: answer.requestID],
                body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        router.get("/", use: query)
        router.post("/", use: query)
        let metricsText = self.metricsText
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: await metricsText())))
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
            server: .http1(configuration: .init(idleTimeout: .seconds(60))),
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
