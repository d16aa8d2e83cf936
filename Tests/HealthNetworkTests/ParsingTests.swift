import HealthCore
import HealthIO
import Testing

@testable import HealthNetwork

@Suite("OVSDB framing, datum and route table parsing")
struct ParsingTests {
    @Test("concatenated JSON texts are cut apart, strings with brackets and escapes included")
    func framing() throws {
        var framer = JSONStreamFramer(maxBytes: 1024)
        let input = #"{"a":"}{\"["} [1,[2]]{"b":"#
        let texts = try framer.decode(Array(input.utf8))
        #expect(texts.map { String(decoding: $0, as: UTF8.self) } == [#"{"a":"}{\"["}"#, "[1,[2]]"])
        let rest = try framer.decode(Array(#"1}"#.utf8))
        #expect(rest.map { String(decoding: $0, as: UTF8.self) } == [#"{"b":1}"#])
    }

    @Test("garbage between texts, an oversize text or deep nesting is refused; texts before garbage are kept")
    func hostile() {
        var garbage = JSONStreamFramer(maxBytes: 1024)
        var kept: [[UInt8]] = []
        #expect(throws: IOError.self) { try garbage.decode(Array("{}hello".utf8), into: &kept) }
        #expect(kept == [Array("{}".utf8)])
        var big = JSONStreamFramer(maxBytes: 16)
        #expect(throws: IOError.self) { try big.decode(Array(#"{"a":"0123456789abcdef"}"#.utf8)) }
        var deep = JSONStreamFramer(maxBytes: 1 << 20)
        #expect(throws: IOError.self) { try deep.decode(Array(String(repeating: "[", count: 100).utf8)) }
    }

    @Test("optional columns, maps and uuid sets in OVSDB notation")
    func datum() throws {
        #expect(OVSDatum.integer(["set", []]) == nil)
        #expect(OVSDatum.integer(5) == 5)
        let parsed = try JSONValue(parsing: Array("[1, 0, -1]".utf8))
        // JSON 0 and 1 are numbers, never booleans: ofport 1 must not vanish.
        #expect(parsed.array?.map { OVSDatum.integer($0) } == [1, 0, -1])
        #expect(OVSDatum.string(["set", ["up"]]) == "up")
        #expect(OVSDatum.map(["map", [["iface-id", "port-eni-1"]]]) == ["iface-id": "port-eni-1"])
        #expect(OVSDatum.uuids(["uuid", "u1"]) == ["u1"])
        #expect(OVSDatum.uuids(["set", [["uuid", "u1"], ["uuid", "u2"]]]) == ["u1", "u2"])
    }

    @Test("/proc/net/route: longest prefix wins, the default gateway is found")
    func routes() {
        let text = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
            eth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
            br0\t0001000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            """
        let table = RouteTable.parse(text)
        #expect(table.defaultGateway?.address == "10.0.0.1")
        #expect(table.defaultGateway?.interface == "eth0")
        #expect(table.route(to: "10.0.1.7")?.interface == "br0")
        #expect(table.route(to: "10.0.0.7")?.gateway == nil)
        #expect(table.route(to: "192.168.1.1")?.gateway == "10.0.0.1")
    }

    @Test("ICMP checksum (RFC 1071)")
    func checksum() {
        // Echo request, id 0x1234, seq 1, no payload: checksum over the header with a zero checksum field.
        let header: [UInt8] = [8, 0, 0, 0, 0x12, 0x34, 0, 1]
        let sum = ICMPSocket.checksum(header)
        var filled = header
        filled[2] = UInt8(sum >> 8)
        filled[3] = UInt8(sum & 0xff)
        #expect(ICMPSocket.checksum(filled) == 0)
    }
}
