import HealthProbes
import Testing

@Suite("Nagios plugin output")
struct PluginOutputTests {
    @Test("units convert to seconds and bytes; %, c and bare numbers are kept")
    func units() {
        let output = PluginOutput(
            parsing: "OK | a=1s b=250ms c=40us d=10% e=3c f=2KB g=1GB h=1TB i=12 j=5B k=1.5e3 l=-4;1;2")
        #expect(output.text == "OK")
        #expect(output.performance["a"] == 1)
        #expect(output.performance["b"] == 0.25)
        #expect(abs((output.performance["c"] ?? 0) - 0.00004) < 1e-12)
        #expect(output.performance["d"] == 10)
        #expect(output.performance["e"] == 3)
        #expect(output.performance["f"] == 2048)
        #expect(output.performance["g"] == 1_073_741_824)
        #expect(output.performance["h"] == 1_099_511_627_776)
        #expect(output.performance["i"] == 12)
        #expect(output.performance["j"] == 5)
        #expect(output.performance["k"] == 1500)
        #expect(output.performance["l"] == -4)
    }

    @Test("quoted labels may hold spaces, '=' and doubled quotes")
    func quotedLabels() {
        let output = PluginOutput(parsing: "OK | 'a b'=1 'it''s=x'=2 plain=3")
        #expect(output.performance == ["a b": 1, "it's=x": 2, "plain": 3])
    }

    @Test("garbage perfdata is skipped, good items around it are kept")
    func garbage() {
        let output = PluginOutput(
            parsing: "WARN text | =5 x= y=abc z=5furlongs u=U 'open=4 good=7 ;;; \u{0}=1 nan=nan inf=inf")
        #expect(output.text == "WARN text")
        #expect(output.performance["y"] == nil)
        #expect(output.performance["z"] == nil)
        #expect(output.performance["nan"] == nil)
        #expect(output.performance["inf"] == nil)
        let empty = PluginOutput(parsing: "")
        #expect(empty.text == "")
        #expect(empty.performance.isEmpty)
        let onlyPipes = PluginOutput(parsing: "|||\n|\n'''")
        #expect(onlyPipes.text == "")
    }

    @Test("long text lines follow the first; a '|' in them starts more perfdata")
    func longText() {
        let output = PluginOutput(parsing: "OK first | a=1\nsecond line\nthird | b=2\nc=3\n")
        #expect(output.text == "OK first")
        #expect(output.longText == ["second line", "third"])
        #expect(output.performance == ["a": 1, "b": 2, "c": 3])
    }
}
