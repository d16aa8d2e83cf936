import Crypto
import Foundation

/// Verifies AWS Signature Version 4 on an EC2 Query request: the `Authorization` header or a presigned query string
/// (`X-Amz-Signature`), HMAC-SHA256 with swift-crypto, at most ``maxSkew`` between the signer's clock and ours.
public struct SigV4Verifier: Sendable {
    /// What the verifier needs of an HTTP request.
    public typealias Request = APIRequest

    /// Access key id -> secret access key.
    public var credentials: [String: String]
    public var maxSkew: TimeInterval = 300
    public var service = "ec2"

    public init(credentials: [String: String], maxSkew: TimeInterval = 300) {
        self.credentials = credentials
        self.maxSkew = maxSkew
    }

    /// The access key id of a correctly signed request; `AuthFailure` when the request is not signed, the key is
    /// unknown or the time is off, `SignatureDoesNotMatch` when the signature is wrong.
    @discardableResult
    public func verify(_ request: Request, now: Date = Date()) throws(EC2Error) -> String {
        let pairs = Self.rawPairs(request.query)
        let authorization = request.headers.first { $0.name == "authorization" }?.value
        let presigned = pairs.contains { $0.key == "X-Amz-Signature" }
        var signature = "", credential = "", signedHeaders: [String] = [], amzDate = ""
        var expires: TimeInterval?
        if let authorization {
            guard authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
                throw EC2Error(.authFailure, "AWS was not able to validate the provided access credentials")
            }
            var fields: [String: String] = [:]
            for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
                let trimmed = part.trimmingCharacters(in: .whitespaces)
                guard let eq = trimmed.firstIndex(of: "=") else { continue }
                fields[String(trimmed[..<eq])] = String(trimmed[trimmed.index(after: eq)...])
            }
            guard let c = fields["Credential"], let h = fields["SignedHeaders"], let s = fields["Signature"],
                let d = request.headers.first(where: { $0.name == "x-amz-date" })?.value
            else {
                throw EC2Error(
                    .authFailure,
                    "The Authorization header is incomplete (Credential, SignedHeaders, "
                        + "Signature and an X-Amz-Date header are required)")
            }
            (credential, signature, amzDate) = (c, s, d)
            signedHeaders = h.split(separator: ";").map(String.init)
        } else if presigned {
            let query = Dictionary(
                pairs.map { ($0.key, Self.percentDecode($0.value)) }, uniquingKeysWith: { a, _ in a })
            guard query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256", let c = query["X-Amz-Credential"],
                let s = query["X-Amz-Signature"], let d = query["X-Amz-Date"], let h = query["X-Amz-SignedHeaders"]
            else {
                throw EC2Error(.authFailure, "The presigned URL is incomplete")
            }
            (credential, signature, amzDate) = (c, s, d)
            signedHeaders = h.split(separator: ";").map(String.init)
            expires = query["X-Amz-Expires"].flatMap(TimeInterval.init) ?? 3600
        } else {
            throw EC2Error(.authFailure, "AWS was not able to validate the provided access credentials")
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request", scope[3] == service, let secret = credentials[scope[0]]
        else {
            throw EC2Error(.authFailure, "AWS was not able to validate the provided access credentials")
        }
        guard let signedAt = Self.parseAmzDate(amzDate), amzDate.hasPrefix(scope[1]) else {
            throw EC2Error(.authFailure, "The X-Amz-Date is malformed or does not match the credential scope")
        }
        if let expires {
            guard expires >= 1, expires <= 604_800, now.timeIntervalSince(signedAt) <= expires,
                signedAt.timeIntervalSince(now) <= maxSkew
            else { throw EC2Error(.authFailure, "Request has expired") }
        } else {
            guard abs(now.timeIntervalSince(signedAt)) <= maxSkew else {
                throw EC2Error(
                    .authFailure, "Signature not yet current or expired: the clocks differ by more than 5 minutes")
            }
        }
        guard signedHeaders.contains("host") else {
            throw EC2Error(.authFailure, "The host header must be signed")
        }
        var canonicalHeaders = ""
        for name in signedHeaders {
            let values = request.headers.filter { $0.name == name }.map { Self.trimHeader($0.value) }
            canonicalHeaders += name + ":" + values.joined(separator: ",") + "\n"
        }
        var encodedPairs: [(key: String, value: String)] = []
        for pair in pairs where !presigned || pair.key != "X-Amz-Signature" {
            let encodedKey = Self.encode(Self.percentDecode(pair.key))
            encodedPairs.append((encodedKey, Self.encode(Self.percentDecode(pair.value))))
        }
        encodedPairs.sort { (a: (key: String, value: String), b: (key: String, value: String)) -> Bool in
            a.key == b.key ? a.value < b.value : a.key < b.key
        }
        let canonicalQuery = encodedPairs.map { (pair: (key: String, value: String)) -> String in
            pair.key + "=" + pair.value
        }.joined(separator: "&")
        let canonicalPath = Self.encode(Self.percentDecode(request.path.isEmpty ? "/" : request.path), keepSlash: true)
        let bodyHash = Self.hex(SHA256.hash(data: request.body))
        var payloadHashes = [bodyHash]
        if let declared = request.headers.first(where: { $0.name == "x-amz-content-sha256" })?.value {
            payloadHashes = [declared]
        } else if presigned {
            payloadHashes.append("UNSIGNED-PAYLOAD")
        }
        let key = Self.signingKey(secret: secret, date: scope[1], region: scope[2], service: scope[3])
        for payloadHash in payloadHashes {
            let canonicalRequest = [
                request.method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders.joined(separator: ";"),
                payloadHash,
            ].joined(separator: "\n")
            let stringToSign = [
                "AWS4-HMAC-SHA256", amzDate, scope[1...4].joined(separator: "/"),
                Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
            ].joined(separator: "\n")
            let expected = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
            if Self.constantTimeEqual(expected, signature.lowercased()) { return scope[0] }
        }
        throw EC2Error(
            .signatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
                + "Access Key and signing method.")
    }

    public static func signingKey(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        func mac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)))
        }
        let kDate = mac(SymmetricKey(data: Array(("AWS4" + secret).utf8)), date)
        return mac(mac(mac(kDate, region), service), "aws4_request")
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for index in x.indices { diff |= x[index] ^ y[index] }
        return diff == 0
    }

    /// `20261129T194840Z`.
    static func parseAmzDate(_ text: String) -> Date? {
        let u = Array(text.utf8)
        guard u.count == 16, u[8] == UInt8(ascii: "T"), u[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard (0x30...0x39).contains(u[index]) else { return nil }
                value = value * 10 + Int(u[index] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15)
        else { return nil }
        let components = DateComponents(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)
    }

    static func trimHeader(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// The raw `key=value` pairs of a query string (still encoded).
    static func rawPairs(_ query: String) -> [(key: String, value: String)] {
        query.split(separator: "&").map { pair in
            if let eq = pair.firstIndex(of: "=") {
                return (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
            }
            return (String(pair), "")
        }
    }

    static func percentDecode(_ text: String) -> String {
        (try? QueryParameters.decode(Array(text.utf8))) ?? text
    }

    /// RFC 3986 encoding as SigV4 wants it: only unreserved characters stay (and `/` in paths).
    static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        let digits = Array("0123456789ABCDEF")
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out += "/"
            default:
                out += "%" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
            }
        }
        return out
    }
}
