import HealthCore
import Testing

@Suite("JSONValue: bounded parsing and compact writing")
struct JSONValueTests {
    @Test("objects, arrays, numbers, literals and escapes parse; 0 and 1 stay numbers")
    func parses() throws {
        let value = try JSONValue(
            parsing: Array(#" {"a": [1, 0, -2.5e1, true, null], "s": "q\"\\\/\n\u00e9\ud83d\ude00", "o": {}} "#.utf8))
        #expect(value["a"]?.array == [.number(1), .number(0), .number(-25), .bool(true), .null])
        #expect(value["s"]?.string == "q\"\\/\né😀")
        #expect(value["o"]?.object == [:])
        #expect(value["a"]?[0]?.integer == 1)
        #expect(value["missing"] == nil)
    }

    @Test("written JSON parses back to the same value, keys sorted")
    func roundTrip() throws {
        let value: JSONValue = ["b": [1, 2.5, "x\u{1}"], "a": .null, "c": ["d": true]]
        #expect(value.json == #"{"a":null,"b":[1,2.5,"x\u0001"],"c":{"d":true}}"#)
        #expect(try JSONValue(parsing: value.jsonBytes) == value)
    }

    @Test("too deep, too long, trailing data and broken texts are refused")
    func bounds() {
        let deep = Array((String(repeating: "[", count: 65) + String(repeating: "]", count: 65)).utf8)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: deep) }
        let fine = Array((String(repeating: "[", count: 64) + String(repeating: "]", count: 64)).utf8)
        #expect((try? JSONValue(parsing: fine)) != nil)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: Array(#""abcdef""#.utf8), maxBytes: 4) }
        for text in ["{} x", "{\"a\" 1}", "[1,]", "01", "\"open", "tru", "", "{\"a\":\"\u{1}\"}"] {
            #expect(JSONValue.parse(text) == nil, "\(text)")
        }
    }
}
