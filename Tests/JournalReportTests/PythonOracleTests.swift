import Foundation
import JournalReport
import TestSupport
import Testing

/// Reports written by Python's email package (Oracle/make_reports.py), a MIME writer we
/// did not write: the original extracted is the bytes Python embedded (which the script
/// checks against its own parse of the message/rfc822 part) and the envelope is what the
/// script wrote.
@Suite struct PythonOracleTests {
    struct Case: Decodable {
        struct Recipient: Decodable {
            var address: String
            var kind: String
            var expandedFrom: String?
            var forwardedFrom: String?
        }

        var name: String
        var expect: String
        var format: String
        var viaDSN: Bool
        var report: String
        var original: String
        var pythonParseExact: Bool
        var sender: String?
        var onBehalfOf: String?
        var subject: String?
        var messageID: String?
        var recipients: [Recipient]

        var envelope: ReportEnvelope {
            let kinds: [String: ReportEnvelope.Recipient.Kind] = ["to": .to, "cc": .cc, "bcc": .bcc, "recipient": .recipient]
            return ReportEnvelope(
                format: format == "exchange2003" ? .exchange2003 : .exchange2007, sender: sender, onBehalfOf: onBehalfOf, subject: subject,
                messageID: messageID,
                recipients: recipients.map { .init(address: $0.address, kind: kinds[$0.kind] ?? .recipient, expandedFrom: $0.expandedFrom, forwardedFrom: $0.forwardedFrom) },
                viaDSN: viaDSN)
        }
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Oracle/make_reports.py").path

    @Test func reportsWrittenByPython() async throws {
        let directory = try makeTempDirectory("oracle")
        defer { removeTempDirectory(directory) }
        let run = try await runProcess("/usr/bin/env", ["python3", Self.script], in: directory)
        try #require(run.status == 0, "\(run.stderr)")
        let cases = try JSONDecoder().decode([Case].self, from: Data(run.stdout))
        #expect(cases.count == 7)
        for oracle in cases {
            let report = try #require(Data(base64Encoded: oracle.report).map { [UInt8]($0) })
            let original = try #require(Data(base64Encoded: oracle.original).map { [UInt8]($0) })
            #expect(oracle.pythonParseExact, "\(oracle.name): Python's parse differs from what it embedded")
            let verdict = splitEveryWay(report)
            switch (oracle.expect, verdict) {
            case ("report", .report(let envelope, _, let extracted)):
                #expect(extracted == original, "\(oracle.name)")
                #expect(envelope == oracle.envelope, "\(oracle.name)")
            case ("malformed", .malformed):
                break
            default:
                Issue.record("\(oracle.name): expected \(oracle.expect), got \(verdict)")
            }
        }
    }
}
