import Foundation
import HealthAPI
import HealthCore
import HealthTestKit
import Logging
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Requests the HTTP parser itself cannot read (methods no HTTP/1.1 parser knows, broken request lines and headers),
/// sent as raw bytes: each gets EC2's error XML with a 400, and the server goes on serving.
@Suite(.serialized) struct UnparseableRequestTests {
    static let requests: [String] = [
        "FOO / HTTP/1.1\r\nHost: x\r\n\r\n",
        "BREW /?Action=DescribeInstanceStatus HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header Name: v\r\n\r\n",
        "GARBAGE\r\n\r\n",
        "GET /\u{1}\u{2} HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    ]

    /// Writes `bytes` to a new connection and reads until the server closes it (at most 10 s).
    static func exchange(port: Int, _ bytes: [UInt8]) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while reply.count < 1 << 20 {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            reply += buffer[0..<count]
        }
        return reply
    }

    @Test func requestsTheParserCannotReadGetEC2ErrorXMLAndTheServerKeepsServing() async throws {
        let logger = Logger(label: "unparseable")
        let handler = EC2QueryHandler(source: StaticStatusSource(Fleet.views(3)), logger: logger)
        try await RunningAPI.with(handler: handler) { api in
            var random = SplitMix(state: 0xBAD_4E0)
            var variants = Self.requests
            // Seeded mutations of the request line: bytes no method or version may hold.
            for _ in 0..<150 {
                var line = Array("GET /?Action=DescribeInstanceStatus HTTP/1.1".utf8)
                let position = Int.random(in: 0..<3, using: &random)
                line[position] = [UInt8(ascii: "@"), 0x7F, UInt8(ascii: "{"), 0x01].randomElement(using: &random)!
                variants.append(String(decoding: line, as: UTF8.self) + "\r\nHost: x\r\n\r\n")
            }
            var failures: [String] = []
            for request in variants {
                let port = api.port
                let reply = try await offCooperativePool { try Self.exchange(port: port, Array(request.utf8)) }
                let text = String(decoding: reply, as: UTF8.self)
                guard let split = text.range(of: "\r\n\r\n") else {
                    failures.append("\(request.debugDescription): no HTTP answer: \(text.prefix(200).debugDescription)")
                    continue
                }
                let head = text[..<split.lowerBound].lowercased()
                let body = Data(text[split.upperBound...].utf8)
                let parses = XMLParser(data: body).parse()
                if !head.hasPrefix("http/1.1 400") || !head.contains("content-type: text/xml") || !parses
                    || !text.contains("<Code>InvalidRequest</Code>")
                {
                    failures.append("\(request.debugDescription) -> \(text.prefix(400).debugDescription)")
                }
            }
            #expect(failures.isEmpty, "\(failures.prefix(10).joined(separator: "\n"))")
            let normal = try await offCooperativePool {
                try Self.exchange(
                    port: api.port,
                    Array("GET /?Action=DescribeInstanceStatus&Version=2016-11-15 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            }
            let text = String(decoding: normal, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200"), "\(text.prefix(300))")
            #expect(text.contains("DescribeInstanceStatusResponse"))
        }
    }
}
