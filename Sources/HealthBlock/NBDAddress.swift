import Foundation

/// Where an NBD export is served: a unix socket or a TCP host and port, and the export's name.
///
/// Accepted forms: `nbd:unix:/path.sock[:exportname=NAME]` and `nbd:HOST:PORT[:exportname=NAME]` (QEMU's legacy
/// syntax, as Hive writes it), `nbd+unix:///NAME?socket=/path.sock` and `nbd://HOST[:PORT]/NAME` (the NBD URI
/// standard; the port defaults to 10809).
public struct NBDAddress: Sendable, Hashable, CustomStringConvertible {
    /// How to reach the server.
    public enum Endpoint: Sendable, Hashable {
        case unix(path: String)
        case tcp(host: String, port: UInt16)
    }

    /// The IANA port of NBD.
    public static let defaultPort: UInt16 = 10809
    /// The longest export name the protocol allows (4096 bytes).
    public static let maxExportNameBytes = 4096

    public var endpoint: Endpoint
    public var exportName: String

    public init(endpoint: Endpoint, exportName: String = "") {
        self.endpoint = endpoint
        self.exportName = exportName
    }

    /// Parses `uri`; a form it does not know is ``NBDError/Code/invalidURI``.
    public init(parsing uri: String) throws(NBDError) {
        let text = uri.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw NBDError(.invalidURI, "the NBD URI is empty") }
        if text.hasPrefix("nbd+unix://") {
            self = try Self.parseUnixURI(text)
        } else if text.hasPrefix("nbd://") {
            self = try Self.parseTCPURI(text)
        } else if text.hasPrefix("nbd:") {
            self = try Self.parseLegacy(text)
        } else {
            throw NBDError(.invalidURI, "'\(text.prefix(200))' is not an NBD URI (nbd:unix:, nbd+unix://, nbd://)")
        }
        guard exportName.utf8.count <= Self.maxExportNameBytes else {
            throw NBDError(.invalidURI, "the export name is longer than \(Self.maxExportNameBytes) bytes")
        }
    }

    /// The unix socket path, when the export is served on one.
    public var socketPath: String? {
        if case .unix(let path) = endpoint { return path }
        return nil
    }

    public var description: String {
        switch endpoint {
        case .unix(let path): "nbd+unix:///\(exportName)?socket=\(path)"
        case .tcp(let host, let port):
            host.contains(":") ? "nbd://[\(host)]:\(port)/\(exportName)" : "nbd://\(host):\(port)/\(exportName)"
        }
    }

    private static func parseUnixURI(_ text: String) throws(NBDError) -> NBDAddress {
        guard let components = URLComponents(string: text) else {
            throw NBDError(.invalidURI, "'\(text.prefix(200))' is not a valid URI")
        }
        guard (components.host ?? "").isEmpty else {
            throw NBDError(.invalidURI, "nbd+unix:// takes no host ('\(components.host ?? "")')")
        }
        guard let socket = components.queryItems?.first(where: { $0.name == "socket" })?.value, !socket.isEmpty else {
            throw NBDError(.invalidURI, "nbd+unix:// needs ?socket=/path")
        }
        return NBDAddress(endpoint: .unix(path: socket), exportName: exportName(components.path))
    }

    private static func parseTCPURI(_ text: String) throws(NBDError) -> NBDAddress {
        guard let components = URLComponents(string: text), let rawHost = components.host, !rawHost.isEmpty else {
            throw NBDError(.invalidURI, "'\(text.prefix(200))' has no host")
        }
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        var port = defaultPort
        if let given = components.port {
            guard let valid = UInt16(exactly: given), valid > 0 else {
                throw NBDError(.invalidURI, "port \(given) is out of range")
            }
            port = valid
        }
        return NBDAddress(endpoint: .tcp(host: host, port: port), exportName: exportName(components.path))
    }

    private static func exportName(_ path: String) -> String {
        path.hasPrefix("/") ? String(path.dropFirst()) : path
    }

    /// `nbd:unix:/path[:exportname=NAME]` or `nbd:HOST:PORT[:exportname=NAME]`.
    private static func parseLegacy(_ text: String) throws(NBDError) -> NBDAddress {
        var rest = Substring(text.dropFirst("nbd:".count))
        var export = ""
        if let marker = rest.range(of: ":exportname=") {
            export = String(rest[marker.upperBound...])
            rest = rest[..<marker.lowerBound]
        }
        if rest.hasPrefix("unix:") {
            let path = String(rest.dropFirst("unix:".count))
            guard !path.isEmpty else { throw NBDError(.invalidURI, "nbd:unix: needs a socket path") }
            return NBDAddress(endpoint: .unix(path: path), exportName: export)
        }
        guard let colon = rest.lastIndex(of: ":") else {
            throw NBDError(.invalidURI, "'\(text.prefix(200))': expected nbd:unix:/path or nbd:host:port")
        }
        var host = String(rest[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = UInt16(rest[rest.index(after: colon)...]), port > 0 else {
            throw NBDError(.invalidURI, "'\(text.prefix(200))': expected nbd:host:port with a port in 1...65535")
        }
        return NBDAddress(endpoint: .tcp(host: host, port: port), exportName: export)
    }
}
