import JournalReport
import Testing

/// Every way a report can be malformed: each ends in `.malformed` (or `.failed` while
/// feeding) with a reason, and the recipe rebuilds every byte fed, under every chunking.
@Suite struct SplitterFailureTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var input: [UInt8]
        var reason: String
        var testDescription: String { name }
    }

    static func report(_ change: (inout ReportFixture) -> Void) -> [UInt8] {
        var fixture = ReportFixture()
        change(&fixture)
        return fixture.bytes
    }

    static let whole = ReportFixture().bytes
    static let originalStart = whole.count - ReportFixture.sampleOriginal.count - "\r\n------JournalReport_0001--\r\n".utf8.count

    static let rows: [Row] = [
        Row(name: "truncated in the header section", input: Array(whole[..<40]), reason: "not a report"),
        Row(name: "truncated in the envelope part", input: Array(whole[..<400]), reason: "the report ends before its original"),
        Row(name: "truncated in the original", input: Array(whole[..<(originalStart + 100)]), reason: "the original's part has no closing delimiter"),
        Row(name: "truncated inside the close delimiter", input: Array(whole.dropLast(5)), reason: "the original's part has no closing delimiter"),
        Row(name: "no close delimiter", input: report { $0.closeDelimiter = "--" + $0.boundary }, reason: "the report has no closing delimiter"),
        Row(name: "no close delimiter, the part delimiter at the very end",
            input: Array(whole.dropLast(4)), reason: "the report has no closing delimiter"),
        Row(name: "not multipart/mixed", input: report { $0.contentType = "text/plain" }, reason: "the report is not multipart/mixed"),
        Row(name: "no boundary", input: report { $0.contentType = "multipart/mixed" }, reason: "the report's multipart/mixed has no usable boundary"),
        Row(name: "boundary too long", input: report { $0.boundary = String(repeating: "b", count: 201) },
            reason: "the report's multipart/mixed has no usable boundary"),
        Row(name: "no parts", input: report { $0.includeEnvelope = false; $0.includeOriginal = false }, reason: "the report has no parts"),
        Row(name: "no original part", input: report { $0.includeOriginal = false }, reason: "the report has no message/rfc822 part"),
        Row(name: "no envelope part", input: report { $0.includeEnvelope = false }, reason: "the report has no text/plain envelope part"),
        Row(name: "no envelope part, original first", input: report { $0.includeEnvelope = false; $0.originalFirst = true },
            reason: "the report has no text/plain envelope part"),
        Row(name: "empty original", input: report { $0.original = [] }, reason: "the original is empty"),
        Row(name: "empty base64 original", input: report { $0.original = []; $0.originalPart = .base64(lineLength: 76) }, reason: "the original is empty"),
        Row(name: "envelope part does not parse", input: report { $0.envelopeBody = Array("Hello,\r\nthis is no envelope.\r\n".utf8) },
            reason: "the envelope part does not parse: no Sender or recipient line"),
        Row(name: "envelope part after the original does not parse",
            input: report { $0.originalFirst = true; $0.envelopeBody = Array("garbage".utf8) },
            reason: "the envelope part does not parse: no Sender or recipient line"),
        Row(name: "original in quoted-printable", input: report { $0.originalPart = .identity(transferEncoding: "quoted-printable") },
            reason: "the original is encoded as quoted-printable"),
        Row(name: "report inside a DSN cut short", input: ReportFixture.dsn(around: report { $0.closeDelimiter = "--" + $0.boundary }),
            reason: "the DSN ends before the report it returns"),
        Row(name: "DSN without its close delimiter", input: ReportFixture.dsn(around: whole, close: false), reason: "the DSN has no closing delimiter"),
    ]

    @Test(arguments: rows)
    func malformed(row: Row) {
        let verdict = splitEveryWay(row.input)
        if row.reason == "not a report" {
            #expect(verdict == .notAReport)
        } else {
            #expect(verdict == .malformed(reason: row.reason))
        }
    }

    /// Base64 that `WrapperRecipe` could not rebuild exactly is refused, and the message
    /// rebuilt byte for byte from what was passed before the refusal.
    @Test(arguments: [
        "QUJD\r\nREVGR0g=",           // a line longer than the first
        "QUJDREVG\nR0hJ",              // LF line breaks
        "QUJDREVG\r\nR0hJ\r\nSktM",  // a short line in the middle
        "QUJDREVG\r\nR0g=\r\nSktM",  // padding in the middle
        "QUI=QUJD",                    // padding inside a line
        "QUJ=",                        // unused bits not zero
        "QUJD REVG",                   // white space
        "QUJD*EVG",                    // outside the alphabet
        "QUJD\r\n\r\n",              // a blank line before the delimiter
        "QUJDREVG\r\nR0hJ\n",         // LF before the delimiter after CRLF lines
        "QUJ",                         // not a multiple of 4
        "Q===",
        "QUJD\r\n --not",
    ])
    func nonCanonicalBase64(body: String) {
        var fixture = ReportFixture()
        fixture.originalPart = .rawBase64(Array(body.utf8))
        guard case .malformed(let reason) = splitEveryWay(fixture.bytes) else {
            Issue.record("accepted \(body)")
            return
        }
        #expect(reason.contains("base64") || reason.contains("closing delimiter"), "\(reason)")
    }

    @Test func base64LineOverTheLimit() {
        var fixture = ReportFixture()
        fixture.originalPart = .rawBase64(Array(String(repeating: "QUJD", count: 250).utf8))
        #expect(splitEveryWay(fixture.bytes) == .malformed(reason: "the original's base64 has a line over 996 characters"))
    }

    @Test func wrapperPastItsLimit() {
        var limits = JournalReportSplitter.Limits()
        limits.wrapper = 2000
        var before = ReportFixture()
        before.envelopeBody += Array(String(repeating: "Recipient: member@corp.example\r\n", count: 100).utf8)
        #expect(splitEveryWay(before.bytes, limits: limits) == .malformed(reason: "the report's wrapper is over 2000 bytes"))
        var after = ReportFixture()
        after.epilogue = String(repeating: "epilogue line\r\n", count: 200)
        #expect(splitEveryWay(after.bytes, limits: limits) == .malformed(reason: "the report's wrapper is over 2000 bytes"))
        #expect(splitEveryWay(ReportFixture().bytes, limits: limits) != .malformed(reason: "the report's wrapper is over 2000 bytes"))
    }
}
