import Foundation
import HealthNATS
import HealthTestKit
import Logging
import Testing

/// Spinifex's nats-server requires TLS (`tls {}` in cmd/spinifex/cmd/templates/nats.conf at ddf22cac) and a token
/// (`authorization { token }`); clients trust `[nodes.<node>.nats] cacert` (spinifex/utils/nats.go, ConnectNATS).
@Suite("NATSConnection over TLS with a token, as Spinifex's nats-server runs", .serialized)
struct NATSTLSTests {
    let logger = Logger(label: "test")

    func configuration(_ server: NATSServerProcess, ca: String?, token: String?) -> NATSConfiguration {
        var configuration = NATSConfiguration(host: "127.0.0.1:\(server.port)", token: token, caCertificateFile: ca)
        configuration.reconnectMax = .milliseconds(200)
        return configuration
    }

    @Test("the right CA and token connect, and requests and KV work over TLS")
    func connectsWithTheRightCAAndToken() async throws {
        let authority = try TestCertificateAuthority()
        defer { authority.remove() }
        let server = try NATSServerProcess(token: "spx-token", tls: authority)
        defer { server.stop() }
        let connection = try await NATSConnection.connect(
            configuration(server, ca: authority.caCertificate, token: "spx-token"), requireServer: true,
            logger: logger)
        defer { connection.close() }
        #expect(connection.isConnected)
        let bucket = try await connection.keyValue(KeyValueBucketConfiguration(bucket: "spinifex-instance-state"))
        _ = try await bucket.put("node.n1", value: Array(#"{"vms":{}}"#.utf8))
        #expect(try await bucket.get("node.n1")?.value == Array(#"{"vms":{}}"#.utf8))
    }

    @Test("a server certificate from another CA is one clear TLS error naming the server and the CA file")
    func aWrongCAIsOneClearError() async throws {
        let authority = try TestCertificateAuthority()
        defer { authority.remove() }
        let other = try TestCertificateAuthority(name: "someone else's CA")
        defer { other.remove() }
        let server = try NATSServerProcess(token: "spx-token", tls: authority)
        defer { server.stop() }
        // The daemon's mode (requireServer false) too: a refused certificate is not retried out of sight.
        for requireServer in [true, false] {
            let error = await #expect(throws: NATSError.self) {
                try await NATSConnection.connect(
                    configuration(server, ca: other.caCertificate, token: "spx-token"),
                    requireServer: requireServer, logger: logger)
            }
            #expect(error?.code == .tls, "\(String(describing: error))")
            #expect(error?.description.contains("nats://127.0.0.1:\(server.port)") == true)
            #expect(error?.description.contains(other.caCertificate) == true, "\(String(describing: error))")
        }
    }

    @Test("a wrong token is one clear error naming the server and the CA file")
    func aWrongTokenIsOneClearError() async throws {
        let authority = try TestCertificateAuthority()
        defer { authority.remove() }
        let server = try NATSServerProcess(token: "spx-token", tls: authority)
        defer { server.stop() }
        for requireServer in [true, false] {
            let error = await #expect(throws: NATSError.self) {
                try await NATSConnection.connect(
                    configuration(server, ca: authority.caCertificate, token: "not-the-token"),
                    requireServer: requireServer, logger: logger)
            }
            #expect(error?.code == .authorization, "\(String(describing: error))")
            #expect(error?.description.contains("nats://127.0.0.1:\(server.port)") == true)
            #expect(error?.description.contains(authority.caCertificate) == true, "\(String(describing: error))")
            #expect(error?.description.contains("token") == true)
        }
    }

    @Test("an unreadable CA file and a plain client on a TLS server are TLS errors naming the CA setting")
    func missingCAAndPlainClient() async throws {
        let authority = try TestCertificateAuthority()
        defer { authority.remove() }
        let server = try NATSServerProcess(tls: authority)
        defer { server.stop() }
        let missing = authority.folder.file("absent.pem")
        let unreadable = await #expect(throws: NATSError.self) {
            try await NATSConnection.connect(
                configuration(server, ca: missing, token: nil), requireServer: true, logger: logger)
        }
        #expect(unreadable?.code == .tls)
        #expect(unreadable?.description.contains(missing) == true)
        let plain = await #expect(throws: NATSError.self) {
            try await NATSConnection.connect(configuration(server, ca: nil, token: nil), requireServer: true,
                                             logger: logger)
        }
        #expect(plain?.code == .tls, "\(String(describing: plain))")
        #expect(plain?.description.contains("cacert") == true)
    }
}
