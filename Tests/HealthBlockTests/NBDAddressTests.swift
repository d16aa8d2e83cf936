import HealthBlock
import Logging
import Testing

@Suite struct NBDAddressTests {
    @Test func qemuLegacyUnixForm() throws {
        let address = try NBDAddress(parsing: "nbd:unix:/run/hive/vol-1.sock")
        #expect(address.endpoint == .unix(path: "/run/hive/vol-1.sock"))
        #expect(address.exportName == "")
        let named = try NBDAddress(parsing: "nbd:unix:/run/vol.sock:exportname=vol-1")
        #expect(named.endpoint == .unix(path: "/run/vol.sock"))
        #expect(named.exportName == "vol-1")
    }

    @Test func standardUnixForm() throws {
        let address = try NBDAddress(parsing: "nbd+unix:///vol-2?socket=/tmp/x/vol-2.sock")
        #expect(address.endpoint == .unix(path: "/tmp/x/vol-2.sock"))
        #expect(address.exportName == "vol-2")
        #expect(try NBDAddress(parsing: "nbd+unix://?socket=/s").exportName == "")
    }

    @Test func tcpForms() throws {
        #expect(try NBDAddress(parsing: "nbd://127.0.0.1:10900/vol-3") == NBDAddress(
            endpoint: .tcp(host: "127.0.0.1", port: 10900), exportName: "vol-3"))
        #expect(try NBDAddress(parsing: "nbd://storage-1").endpoint == .tcp(host: "storage-1", port: 10809))
        #expect(try NBDAddress(parsing: "nbd://[::1]:10901/e").endpoint == .tcp(host: "::1", port: 10901))
        #expect(try NBDAddress(parsing: "nbd:10.0.0.5:10809").endpoint == .tcp(host: "10.0.0.5", port: 10809))
    }

    @Test(arguments: [
        "", "http://x/y", "nbd+unix:///e", "nbd+unix://host/e?socket=/s", "nbd:unix:", "nbd:host", "nbd:host:0",
        "nbd:host:99999", "nbd://", "nbd://h:0/e",
    ])
    func rejectsWhatItCannotUse(_ uri: String) {
        #expect(throws: NBDError.self) { try NBDAddress(parsing: uri) }
        do {
            _ = try NBDAddress(parsing: uri)
        } catch {
            #expect(error.code == .invalidURI)
            #expect(!error.isStoragePathBroken)
        }
    }

    @Test func aReadLengthOutOfRangeIsTheCallersTrouble() async {
        for length in [0, NBDClient.maxReadLength + 1] {
            do {
                _ = try await NBDClient.readBlock(
                    at: NBDAddress(endpoint: .unix(path: "/nonexistent.sock")), length: length, timeout: .seconds(1),
                    logger: Logger(label: "nbd-test"))
                Issue.record("length \(length) was accepted")
            } catch {
                #expect(error.code == .invalidRequest)
                #expect(!error.isStoragePathBroken)
            }
        }
    }
}
