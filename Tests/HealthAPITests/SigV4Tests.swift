import Foundation
import HealthAPI
import Testing

/// SigV4 against AWS's published test vector (get-vanilla) and the clock skew rule.
@Suite struct SigV4Tests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let signedAt = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z

    func request(signature: String) -> SigV4Verifier.Request {
        SigV4Verifier.Request(
            method: "GET", path: "/", query: "",
            headers: [
                ("host", "example.amazonaws.com"), ("x-amz-date", "20150830T123600Z"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                        + "SignedHeaders=host;x-amz-date, Signature=\(signature)"
                ),
            ], body: [])
    }

    var verifier: SigV4Verifier {
        var verifier = SigV4Verifier(credentials: ["AKIDEXAMPLE": Self.secret])
        verifier.service = "service"
        return verifier
    }

    @Test func acceptsAWSTestVector() throws {
        let key = try verifier.verify(
            request(signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"), now: Self.signedAt)
        #expect(key == "AKIDEXAMPLE")
    }

    @Test func refusesWrongSignatureSkewAndUnknownKeys() {
        let good = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        #expect(
            code { try verifier.verify(request(signature: String(repeating: "0", count: 64)), now: Self.signedAt) }
                == "SignatureDoesNotMatch")
        #expect(
            code { try verifier.verify(request(signature: good), now: Self.signedAt.addingTimeInterval(301)) }
                == "AuthFailure")
        #expect(
            code { try verifier.verify(request(signature: good), now: Self.signedAt.addingTimeInterval(-301)) }
                == "AuthFailure")
        #expect(
            code { try verifier.verify(request(signature: good), now: Self.signedAt.addingTimeInterval(299)) } == nil)
        let stranger = SigV4Verifier(credentials: ["SOMEONEELSE": Self.secret])
        #expect(code { try stranger.verify(request(signature: good), now: Self.signedAt) } == "AuthFailure")
        #expect(
            code {
                try verifier.verify(
                    .init(method: "GET", path: "/", query: "", headers: [], body: []), now: Self.signedAt)
            } == "AuthFailure")
    }

    func code(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return (error as? EC2Error)?.code.rawValue ?? "\(error)"
        }
    }
}
