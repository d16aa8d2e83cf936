import HealthCore
import Testing

@Suite("Glob")
struct GlobTests {
    @Test(
        "patterns that match",
        arguments: [
            ("*", ""), ("*", "anything"), ("", ""), ("abc", "abc"), ("a?c", "abc"), ("???", "xyz"), ("i-*", "i-0abc"),
            ("*-prod", "web-prod"), ("*a*b*", "xxaxxbxx"), ("a*", "a"), ("**", "x"), ("*?", "x"), ("*.*", "a.b"),
            ("vol-0?b", "vol-0bb"), ("a*b*c", "abc"), ("h*l?o", "hello"), ("*", "*"), ("?", "?"), ("a*", "a*"),
            ("é*", "été"),
        ])
    func matching(pattern: String, text: String) {
        #expect(Glob.matches(pattern, text))
    }

    @Test(
        "patterns that do not match",
        arguments: [
            ("", "a"), ("a", ""), ("?", ""), ("abc", "abd"), ("abc", "ab"), ("ab", "abc"), ("a?c", "ac"), ("*b", "abc"),
            ("i-*", "vol-1"), ("??", "abc"), ("a*b*c", "acb"), ("*x*", "abc"), ("A", "a"), ("b*", "a"),
        ])
    func notMatching(pattern: String, text: String) {
        #expect(!Glob.matches(pattern, text))
    }

    @Test("a pathological pattern against 10,000 a's finishes and does not match")
    func pathological() {
        let text = String(repeating: "a", count: 10_000)
        #expect(!Glob.matches("a*a*a*a*a*b", text))
        #expect(Glob.matches("a*a*a*a*a*a", text))
        #expect(!Glob.matches(String(repeating: "*a", count: 200) + "b", text))
        #expect(Glob.matches(String(repeating: "*", count: 10_000), text))
    }

    @Test("isPattern finds the wildcards")
    func isPattern() {
        #expect(Glob.isPattern("web-*"))
        #expect(Glob.isPattern("i-?"))
        #expect(!Glob.isPattern("exact-name"))
        #expect(!Glob.isPattern(""))
    }
}
