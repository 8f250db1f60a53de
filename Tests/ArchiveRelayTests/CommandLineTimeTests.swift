import Foundation
import OperatorText
import Testing

/// `--since`/`--until`: a UTC day or an RFC 3339 time with a zone, read whole; anything
/// else is refused, never cut down to the part that parses.
struct CommandLineTimeTests {
    @Test(arguments: [
        ("2026-12-06", 1_796_515_200.0),
        ("1970-01-01", 0),
        ("2024-02-29", 1_709_164_800),
        ("2000-02-29", 951_782_400),
        ("2026-12-06T23:59:59Z", 1_796_601_599),
        ("2026-12-06t23:59:59z", 1_796_601_599),
        ("2026-12-06T23:59:59+01:00", 1_796_597_999),
        ("2026-12-06T23:59:59-00:30", 1_796_603_399),
        ("2026-12-06T00:00:00.5Z", 1_796_515_200.5),
        ("2026-12-06T00:00:00.123456789Z", 1_796_515_200.123456789),
        ("1969-12-31T23:59:59Z", -1),
    ])
    func acceptedForms(text: String, seconds: Double) throws {
        let date = try CommandLineTime.parse(text)
        #expect(abs(date.timeIntervalSince1970 - seconds) < 1e-6, "\(text) → \(date.timeIntervalSince1970)")
        // What the tools print (to the millisecond) reads back as the same time.
        #expect(abs(try CommandLineTime.parse(CommandLineTime.format(date)).timeIntervalSince1970 - seconds) < 0.001)
    }

    @Test(arguments: [
        "2026-12-06T23:59:59",        // no zone: whose 23:59?
        "2026-12-06garbage",
        "2026-12-06 ",
        "2026-12-06T23:59:59Zjunk",
        "2026-12-06T23:59:59+01",
        "2026-12-06T23:59:59+0100",
        "2026-12-06T23:59Z",
        "2026-12-06T24:00:00Z",
        "2026-12-06T23:60:00Z",
        "2026-12-06T23:59:60Z",
        "2026-12-06T23:59:59.Z",
        "2026-12-06T23:59:59.1234567890Z",
        "2026-12-06T23:59:59+24:00",
        "2026-02-30",
        "2026-02-29",
        "1900-02-29",
        "2026-13-01",
        "2026-00-10",
        "2026-04-31",
        "2026-12-00",
        "2026-1-06",
        "26-12-06",
        "+2026-12-06",
        "２０２６-12-06",
        "",
        "yesterday",
        "1796515200",
    ])
    func refusedForms(text: String) {
        #expect(throws: CommandLineTimeError.self, "\(text)") { try CommandLineTime.parse(text) }
    }

    /// The error names the accepted forms, and shows the refused text with its control
    /// characters escaped.
    @Test func theErrorNamesTheForms() throws {
        let error = try #require(throws: CommandLineTimeError.self) { try CommandLineTime.parse("2026-12-06\u{1B}]0;x\u{07}") }
        #expect(error.description == "'2026-12-06\\x1b]0;x\\x07' is not \(CommandLineTime.forms)")
    }
}
