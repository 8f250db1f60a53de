import ArchiveStore
import Crypto
import Foundation
import JournalReport
import Logging
import TestSupport

/// A data directory holding one original that arrived three times: twice as plain mail
/// (the same bytes, another RCPT TO each) and once wrapped in an Exchange journal report
/// whose envelope names a Bcc recipient, an expanded list member and a forwarded mailbox.
/// Built with the library, read back by the `archiverelay` binary.
struct ArrivalFixture {
    static let original = Array("""
        From: Alice <alice@corp.example>\r
        To: Bob <bob@corp.example>,\r
         Carol <carol@corp.example>\r
        Cc: =?UTF-8?Q?Dav=C3=A9?= <dave@corp.example>\r
        Subject: Quarterly numbers \u{1B}]0;owned\u{07}\r
        Date: Mon, 7 Dec 2026 10:00:00 +0000\r
        Message-ID: <q4@corp.example>\r
        \r
        The numbers.\r
        From here on, a line an mbox reader could take for a new message.\r

        """.utf8)

    /// The report's recipients: more than fit on one line of an `X-Archiverelay-Arrival`
    /// field, one with a quoted local part that holds a separator.
    static let report = ReportEnvelope(
        format: .exchange2007, sender: "alice@corp.example", onBehalfOf: "boss@corp.example", subject: "Quarterly numbers",
        messageID: "<q4@corp.example>",
        recipients: [
            .init(address: "bob@corp.example", kind: .to), .init(address: "dave@corp.example", kind: .cc),
            .init(address: "eve@corp.example", kind: .bcc), .init(address: "\"odd; name\"@corp.example", kind: .bcc),
            .init(address: "frank@corp.example", kind: .recipient, expandedFrom: "sales@corp.example"),
            .init(address: "grace@corp.example", kind: .recipient, forwardedFrom: "henry@corp.example"),
        ])

    static let wrapper = WrapperRecipe(head: Array("""
        From: Microsoft Outlook <journal@exchange.corp.example>\r
        To: journal@archive.example\r
        Subject: Quarterly numbers\r
        X-MS-Journal-Report:\r
        Content-Type: multipart/mixed; boundary="jr"\r
        \r
        --jr\r
        Content-Type: text/plain; charset=us-ascii\r
        \r
        Sender: alice@corp.example\r
        On-Behalf-Of: boss@corp.example\r
        Subject: Quarterly numbers\r
        Message-Id: <q4@corp.example>\r
        To: bob@corp.example\r
        Cc: dave@corp.example\r
        Bcc: eve@corp.example\r
        Bcc: "odd; name"@corp.example\r
        Recipient: frank@corp.example, Expanded: sales@corp.example\r
        Recipient: grace@corp.example, Forwarded: henry@corp.example\r
        --jr\r
        Content-Type: message/rfc822\r
        \r

        """.utf8), encoding: .identity, tail: Array("\r\n--jr--\r\n".utf8))

    static var reportBytes: [UInt8] { wrapper.reconstruct(original: original) }

    static let start = Date(timeIntervalSince1970: 1_796_637_600.25)  // 2026-12-07T10:00:00.250Z

    /// The envelopes of the three arrivals, in the order they are committed.
    static let plainA = ArchiveEnvelope(
        receivedAt: start, listener: "journal", clientAddress: "192.0.2.7:51234", helo: "mx1.corp.example",
        tls: "TLSv1.3 TLS_AES_128_GCM_SHA256", sender: "alice@corp.example", recipients: ["bob@corp.example"],
        suggestedID: ArchiveID.make(at: start), node: "node-a")
    static let plainB = ArchiveEnvelope(
        receivedAt: start + 60, listener: "journal", clientAddress: "[2001:db8::2]:40000", helo: "mx2.corp.example",
        tls: nil, sender: "alice@corp.example", recipients: ["carol@corp.example", "audit@corp.example"],
        suggestedID: ArchiveID.make(at: start + 60), node: "node-a")
    static let journal = ArchiveEnvelope(
        receivedAt: start + 120, listener: "exchange", clientAddress: "198.51.100.9:2525", helo: "exchange.corp.example",
        tls: "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384", sender: "journal@exchange.corp.example", recipients: ["journal@archive.example"],
        suggestedID: ArchiveID.make(at: start + 120), node: "node-b")

    var dataDirectory: String

    static func build(in directory: String) async throws -> ArrivalFixture {
        let data = directory + "/data"
        var logger = Logger(label: "arrival-fixture")
        logger.logLevel = .critical
        let store = try await ArchiveStore.open(dataDirectory: data, logger: logger)
        for envelope in [plainA, plainB] {
            var draft = try store.makeDraft(envelope: envelope)
            try draft.append(bytes: original)
            _ = try await store.commit(try draft.finish())
        }
        var draft = try store.makeDraft(envelope: journal)
        try draft.append(bytes: original)
        let received = reportBytes
        let form = ReceivedForm(size: UInt64(received.count), sha256: Array(SHA256.hash(data: received)), report: report, wrapper: wrapper)
        _ = try await store.commit(try draft.finish(received: form))
        try await store.close()
        return ArrivalFixture(dataDirectory: data)
    }

    static var originalSHA256: String { SHA256.hash(data: original).map { String(format: "%02x", $0) }.joined() }

    static var binary: String {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let candidates: [String?] = [ProcessInfo.processInfo.environment["ARCHIVERELAY_BINARY"],
                                         root.appendingPathComponent(".build/debug/archiverelay").path]
            guard let path = candidates.compactMap({ $0 }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw FixtureError(description: "archiverelay binary not found; run `swift build` first")
            }
            return path
        }
    }

    /// Runs `archiverelay archive ARGUMENTS --data-dir` this archive, in `scratch`.
    func archive(_ arguments: [String], in scratch: String) async throws -> ProcessRun {
        try await runProcess(try Self.binary, ["archive"] + arguments + ["--data-dir", dataDirectory], in: scratch)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}
