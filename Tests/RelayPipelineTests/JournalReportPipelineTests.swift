import ArchiveStore
import Crypto
import RouteEngine
import Testing

/// A journal report through the pipeline: unwrapped where it is archived and the
/// listener says `journal_reports = "auto"` (the default), kept whole with `"off"`.
@Suite struct JournalReportPipelineTests {
    static let node = NodeID("node-a")!
    static let original = "From: alice@corp.example\r\nTo: bob@corp.example\r\nSubject: plans\r\nMessage-ID: <p@corp.example>\r\n\r\nHello.\r\n"
    static let report = "X-MS-Journal-Report: \r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
        + "Content-Type: text/plain\r\n\r\nSender: alice@corp.example\r\nSubject: plans\r\nMessage-Id: <p@corp.example>\r\n"
        + "To: bob@corp.example\r\nBcc: dave@corp.example\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
        + original + "\r\n--b--\r\n"

    static func digest(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    @Test(arguments: [false, true])
    func aReportIsUnwrappedUnlessTheListenerSaysOff(off: Bool) async throws {
        let table = RoutingTable(nodeID: Self.node, journalReportsOff: off ? [PipelineHarness.listener] : [])
        try await PipelineHarness.with(table) { pipeline in
            let sent = try await pipeline.send(from: "journaling@corp.example", to: ["journal@archive.example"], content: Self.report)
            #expect(sent.codes == [250, 250, 250])
            let archived = try pipeline.archived()
            #expect(archived.count == 1)
            let entry = try #require(archived.first)
            #expect(entry.sha256 == Self.digest(off ? Self.report : Self.original))
            #expect(entry.journal == !off)
            #expect(entry.recipients.contains("dave@corp.example") == !off)
        }
    }
}
