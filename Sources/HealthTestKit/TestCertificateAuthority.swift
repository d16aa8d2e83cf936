import Foundation

/// A throwaway certificate authority and a server certificate it signed, made with the `openssl` CLI (Debian
/// `openssl`) in a folder of their own: what Spinifex's `spx admin init` lays out in `/etc/spinifex` (`ca.pem`,
/// `server.pem`, `server.key`) and its nats.conf's `tls {}` block names.
///
/// The server certificate is valid for `127.0.0.1` and `localhost`, the addresses the test servers listen on.
public struct TestCertificateAuthority: Sendable {
    /// The folder holding the files (removed by ``remove()``).
    public let folder: ShortTemporaryFolder

    /// The CA certificate (PEM): what `[nodes.<node>.nats] cacert` names.
    public var caCertificate: String { folder.file("ca.pem") }
    /// The server's certificate, signed by this CA.
    public var serverCertificate: String { folder.file("server.pem") }
    /// The server's private key.
    public var serverKey: String { folder.file("server.key") }

    /// Makes a CA (EC P-256, one day) and a server certificate for `127.0.0.1` / `localhost` signed by it.
    public init(name: String = "hive-health test CA") throws {
        folder = try ShortTemporaryFolder(prefix: "hh-ca")
        let ca = folder.file("ca.key")
        try OVSDBFixture.run("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", ca, "-out", caCertificate, "-days", "1", "-subj", "/CN=\(name)",
        ])
        let request = folder.file("server.csr")
        try OVSDBFixture.run("openssl", [
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", serverKey, "-out", request, "-subj", "/CN=localhost",
        ])
        let extensions = folder.file("server.ext")
        try Data("subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n".utf8)
            .write(to: URL(fileURLWithPath: extensions))
        try OVSDBFixture.run("openssl", [
            "x509", "-req", "-in", request, "-CA", caCertificate, "-CAkey", ca, "-CAcreateserial",
            "-out", serverCertificate, "-days", "1", "-extfile", extensions,
        ])
    }

    /// Removes the folder and every file in it.
    public func remove() { folder.remove() }
}
