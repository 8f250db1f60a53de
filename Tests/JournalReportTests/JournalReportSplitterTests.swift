import JournalReport
import Testing

/// Reports the splitter unwraps, and messages it leaves alone, each under every chunking
/// (`splitEveryWay` checks the invariant after every feed).
@Suite struct JournalReportSplitterTests {
    func expectReport(_ input: [UInt8], envelope: ReportEnvelope = ReportFixture.expectedEnvelope, original: [UInt8] = ReportFixture.sampleOriginal,
                      encoding: WrapperRecipe.Encoding = .identity, sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .report(let parsed, let recipe, let extracted) = splitEveryWay(input, sourceLocation: sourceLocation) else {
            Issue.record("not a report: \(splitEveryWay(input))", sourceLocation: sourceLocation)
            return
        }
        #expect(parsed == envelope, sourceLocation: sourceLocation)
        #expect(extracted == original, sourceLocation: sourceLocation)
        #expect(recipe.encoding == encoding, sourceLocation: sourceLocation)
    }

    @Test func plainMailIsNotAReport() {
        let message = Array("From: a@x\r\nTo: b@x\r\nSubject: hello\r\n\r\nJust mail.\r\n".utf8)
        #expect(splitEveryWay(message) == .notAReport)
        let multipart = Array("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nX: y\r\n\r\nz\r\n--b--\r\n".utf8)
        #expect(splitEveryWay(multipart) == .notAReport)
        #expect(splitEveryWay(Array("no header section end".utf8)) == .notAReport)
        #expect(splitEveryWay(Array("\r\n\r\nX-MS-Journal-Report:\r\n".utf8)) == .notAReport)
        // A mark in the body is not a mark.
        #expect(splitEveryWay(Array("Subject: x\r\n\r\nX-MS-Journal-Report: \r\n".utf8)) == .notAReport)
    }

    @Test func headerSectionPastItsLimitIsNotAReport() {
        var limits = JournalReportSplitter.Limits()
        limits.headerSection = 200
        var report = ReportFixture()
        report.mark = "X-Filler: " + String(repeating: "x", count: 300) + "\r\nX-MS-Journal-Report:"
        #expect(splitEveryWay(report.bytes, limits: limits) == .notAReport)
        #expect(splitEveryWay(report.bytes) != .notAReport)
    }

    /// Whether the header section fits is judged the same way however the bytes arrive,
    /// also when the limit falls inside the empty line that ends it.
    @Test func headerLimitAtEveryOffsetAroundTheSectionEnd() {
        let report = ReportFixture().bytes
        let sectionEnd = report.firstRange(of: Array("\r\n\r\n".utf8)).map { $0.upperBound } ?? 0
        var verdicts: [SplitVerdict] = []
        for limit in (sectionEnd - 3)...(sectionEnd + 1) {
            var limits = JournalReportSplitter.Limits()
            limits.headerSection = limit
            verdicts.append(splitEveryWay(report, limits: limits))
        }
        #expect(verdicts.first == .notAReport)
        #expect(verdicts.last != .notAReport)
    }

    @Test func originalStartingWithALineBreak() {
        for original in ["\r\n", "\n", "\r\nbody", "\r", "-", "--", "\r\n-"] {
            var report = ReportFixture()
            report.original = Array(original.utf8)
            expectReport(report.bytes, original: report.original)
        }
    }

    /// The original goes on in slices of the chunks fed, not line by line: at most two
    /// calls per chunk (the held line break, then the rest).
    @Test func originalPassedInLargeSlices() {
        var report = ReportFixture()
        let line = Array("A line of the original, as long as lines in mail tend to be, and a bit more.\r\n".utf8)
        report.original = Array(repeating: line, count: 16_000).flatMap { $0 }
        let input = report.bytes
        let chunkSize = 64 * 1024
        var splitter = JournalReportSplitter()
        var calls = 0, passed = 0
        var chunks = 0
        for start in stride(from: 0, to: input.count, by: chunkSize) {
            chunks += 1
            _ = input[start..<min(start + chunkSize, input.count)].withUnsafeBytes { chunk in
                splitter.feed(chunk) { calls += 1; passed += $0.count }
            }
        }
        guard case .report = splitter.finish(original: { calls += 1; passed += $0.count }) else {
            Issue.record("not a report")
            return
        }
        #expect(passed == report.original.count)
        #expect(calls <= 2 * chunks, "\(calls) calls for \(chunks) chunks")
    }

    @Test func exchange2007Report() {
        expectReport(ReportFixture().bytes)
    }

    @Test func markValuesAndSpellings() {
        for mark in ["X-MS-Journal-Report: ", "x-ms-journal-report:", "X-MS-Journal-Report: 1.0"] {
            var report = ReportFixture()
            report.mark = mark
            expectReport(report.bytes)
        }
        for mark in ["Content-Identifier: ExJournalReport", "Content-Identifer: ExJournalReport", "content-identifier:  exjournalreport "] {
            var report = ReportFixture()
            report.format = .exchange2003
            report.mark = mark
            var expected = ReportFixture.expectedEnvelope
            expected.format = .exchange2003
            expectReport(report.bytes, envelope: expected)
        }
    }

    @Test func exchange2003Report() {
        var report = ReportFixture()
        report.format = .exchange2003
        report.envelopeBody = Array("Sender: alice@corp.example\r\nMessage-ID: <q3.42@corp.example>\r\nRecipients: bob@corp.example, carol@corp.example\r\n".utf8)
        expectReport(report.bytes, envelope: ReportEnvelope(format: .exchange2003, sender: "alice@corp.example", messageID: "<q3.42@corp.example>",
                                                            recipients: [.init(address: "bob@corp.example", kind: .recipient),
                                                                         .init(address: "carol@corp.example", kind: .recipient)]))
    }

    @Test func lineFeedsOnly() {
        var report = ReportFixture()
        report.lineBreak = "\n"
        report.envelopeBody = Array(ReportFixture.envelopeText.replacingOccurrences(of: "\r\n", with: "\n").utf8)
        report.original = Array(String(decoding: ReportFixture.sampleOriginal, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n").utf8)
        expectReport(report.bytes, original: report.original)
    }

    @Test func originalFirstWithOtherPartsPreambleEpilogueAndPadding() {
        var report = ReportFixture()
        report.originalFirst = true
        report.preamble = "preamble\r\n--" + report.boundary + "X not a delimiter"
        report.extraParts = ["Content-Type: text/plain\r\n\r\nA second text part is not the envelope.",
                             "Content-Type: message/rfc822\r\n\r\nSubject: a second original is wrapper\r\n\r\nbody"]
        report.closeDelimiter = "--" + report.boundary + "-- \t "
        report.epilogue = "epilogue\r\n"
        expectReport(report.bytes)
    }

    @Test func originalWithoutTransferEncodingOr8bitOrBinary() {
        for encoding in [nil, "8bit", "binary", "7BIT"] {
            var report = ReportFixture()
            report.originalPart = .identity(transferEncoding: encoding)
            report.original += [0xFF, 0x00, 0x0D, 0x41, 0x0D]  // binary, and a bare CR at the end
            expectReport(report.bytes, original: report.original)
        }
    }

    @Test func envelopePartInQuotedPrintableAndBase64() {
        var qp = ReportFixture()
        qp.envelopeHeaders = "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable"
        qp.envelopeBody = Array("Sender: alice@corp.example\r\nSubject: Caf=E9\r\nTo: bob@corp.example\r\n".utf8)
        expectReport(qp.bytes, envelope: ReportEnvelope(format: .exchange2007, sender: "alice@corp.example", subject: "Café",
                                                        recipients: [.init(address: "bob@corp.example", kind: .to)]))
        var b64 = ReportFixture()
        b64.envelopeHeaders = "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64"
        b64.envelopeBody = Array("U2VuZGVyOiBhQHgNClN1YmplY3Q6IMOpdMOpIOKCrA0KVG86IGJAeA0K".utf8)
        expectReport(b64.bytes, envelope: ReportEnvelope(format: .exchange2007, sender: "a@x", subject: "été €", recipients: [.init(address: "b@x", kind: .to)]))
    }

    @Test func reportInsideADSN() {
        var expected = ReportFixture.expectedEnvelope
        expected.viaDSN = true
        expectReport(ReportFixture.dsn(around: ReportFixture().bytes), envelope: expected)
    }

    @Test func dsnAroundSomethingElseIsNotAReport() {
        let plain = Array("From: a@x\r\nSubject: hi\r\n\r\nbody\r\n".utf8)
        #expect(splitEveryWay(ReportFixture.dsn(around: plain)) == .notAReport)
        // Encoded, the returned message cannot be looked into: archived as it came.
        #expect(splitEveryWay(ReportFixture.dsn(around: ReportFixture().bytes, rfc822Encoding: "base64")) == .notAReport)
        #expect(splitEveryWay(Array("Content-Type: multipart/report; report-type=delivery-status; boundary=d\r\n\r\n--d--\r\n".utf8)) == .notAReport)
    }

    @Test(arguments: [4, 8, 64, 76, 996])
    func canonicalBase64OriginalIsUnwrapped(lineLength: Int) {
        for size in [1, 2, 3, 57, 1000] {
            var report = ReportFixture()
            report.original = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            report.originalPart = .base64(lineLength: lineLength)
            let lines = (size + 2) / 3 * 4
            // One line: its own length is as good a line length as any.
            let expected = lines <= lineLength ? lines : lineLength
            expectReport(report.bytes, original: report.original, encoding: .base64(lineLength: expected))
        }
    }
}
