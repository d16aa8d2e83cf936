import HealthCore
import Testing

@Suite("HealthDuration")
struct HealthDurationTests {
    @Test(
        "valid durations parse",
        arguments: [
            ("500ms", Duration.milliseconds(500)),
            ("30s", .seconds(30)),
            ("1m30s", .seconds(90)),
            ("2h", .seconds(7200)),
            ("1.5s", .milliseconds(1500)),
            ("10", .seconds(10)),
            ("0.25", .milliseconds(250)),
            ("0", .zero),
            ("  45s\n", .seconds(45)),
            ("1h2m3s", .seconds(3723)),
            ("2d", .seconds(172_800)),
            ("250us", .microseconds(250)),
            ("250µs", .microseconds(250)),
            ("100ns", .nanoseconds(100)),
            ("1.5m", .seconds(90)),
        ])
    func validForms(text: String, expected: Duration) throws {
        #expect(try HealthDuration.parse(text) == expected)
    }

    @Test(
        "invalid durations are rejected with an error naming the text",
        arguments: [
            "", "   ", "abc", "10x", "-5s", "-5", "1e400", "1e400s", "s", "ms", "1.2.3s", "1h30", "1 s", "nan", "inf",
            "infinity", "1e9", "999999999999999999999s", "5s-", "٣s",
        ])
    func invalidForms(text: String) {
        let error = #expect(throws: HealthDuration.ParseError.self) { try HealthDuration.parse(text) }
        #expect(error?.text == text)
    }

    @Test("the parse error explains the expected format")
    func errorMessage() throws {
        let error = try #require(#expect(throws: HealthDuration.ParseError.self) { try HealthDuration.parse("10x") })
        #expect(error.description.contains("'10x'"))
        #expect(error.description.contains("500ms"))
    }

    @Test(
        "format writes durations the way checks.d does",
        arguments: [
            (Duration.zero, "0s"),
            (.milliseconds(250), "250ms"),
            (.milliseconds(1500), "1500ms"),
            (.seconds(30), "30s"),
            (.seconds(90), "1m30s"),
            (.seconds(7200), "2h"),
            (.seconds(3723), "1h2m3s"),
            (.seconds(3605), "1h5s"),
            (.microseconds(1500), "1500us"),
        ])
    func formatForms(duration: Duration, text: String) {
        #expect(HealthDuration.format(duration) == text)
    }

    @Test(
        "parse of format gives the same duration back",
        arguments: [
            Duration.zero, .milliseconds(1), .milliseconds(250), .milliseconds(1500), .seconds(1), .seconds(59),
            .seconds(60), .seconds(61), .seconds(3599), .seconds(3600), .seconds(86_400 + 61), .microseconds(1500),
            .nanoseconds(1_000_000_001),
        ])
    func roundTrip(duration: Duration) throws {
        #expect(try HealthDuration.parse(HealthDuration.format(duration)) == duration)
    }

    @Test(
        "sub-microsecond-precision durations also round trip",
        arguments: [
            Duration.nanoseconds(100), .microseconds(1), .microseconds(10),
        ])
    func roundTripTiny(duration: Duration) {
        #expect((try? HealthDuration.parse(HealthDuration.format(duration))) == duration)
    }

    @Test("format never writes an empty string, even for a negative duration")
    func formatNegative() {
        #expect(HealthDuration.format(.seconds(-5)) == "-5s")
    }

    @Test("Duration.nanoseconds and seconds read the components")
    func durationAccessors() {
        #expect(Duration.milliseconds(1500).nanoseconds == 1_500_000_000)
        #expect(Duration.milliseconds(1500).seconds == 1.5)
        #expect(Duration.seconds(Int64.max).nanoseconds == .max)
        #expect(Duration.seconds(Int64.min).nanoseconds == .min)
    }
}
