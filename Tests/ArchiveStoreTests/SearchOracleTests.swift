import Foundation
import TestSupport
import Testing
@testable import ArchiveStore

/// `archive search` against an oracle that shares none of its code (Oracle/search_oracle.py:
/// Python's email package reads the messages, each query term is looked up by SQLite's
/// FTS5 on that text, the boolean logic is Python's): messages in Latin-1, windows-1252,
/// UTF-8, ISO-2022-JP, KOI8-R, Shift_JIS and GB2312, quoted-printable and base64 bodies,
/// HTML-only mail, nested forwards, RFC 2231 and RFC 2047 file names (made by Python's
/// email package), the shared corpus, and journal reports whose Bcc recipients only
/// their envelopes name. Every query operator. Nothing the oracle finds may be missing;
/// for planted words the hits must be exactly the oracle's.
@Suite struct SearchOracleTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let oracle = here.appendingPathComponent("Oracle/search_oracle.py").path
    static let extractDirectory = here.appendingPathComponent("../MessageTextTests/Oracle").standardized.path

    struct Expectation: Decodable {
        var query: String
        var expected: [String]
        var exact: Bool
    }

    /// What the manifest tells the oracle about one archived original.
    struct ManifestMessage: Encodable {
        var name: String
        var file: String
        var arrivals: [ManifestArrival]
    }

    struct ManifestArrival: Encodable {
        var received_at: Int
        var mail_from: String
        var rcpt_to: [String]
        var report: ManifestReport?
    }

    struct ManifestReport: Encodable {
        var senders: [String]
        var to: [String]
        var cc: [String]
        var bcc: [String]
    }

    static let firstArrival = 1_735_689_600  // 2025-01-01T00:00:00Z

    static func envelope(_ n: Int, at seconds: Int, sender: String, recipients: [String]) -> ArchiveEnvelope {
        ArchiveEnvelope(receivedAt: Date(timeIntervalSince1970: TimeInterval(seconds)), listener: "journal", clientAddress: "192.0.2.\(n % 250)",
                        helo: "mx.example.test", tls: nil, sender: sender, recipients: recipients, suggestedID: "ORACLE\(n)")
    }

    /// An Exchange-style journal report of `original` (its envelope part naming the sender,
    /// To, Cc and Bcc recipients), as the listener would hand it over.
    static func report(_ original: [UInt8], _ r: ManifestReport) -> [UInt8] {
        var envelope = "Sender: \(r.senders.first ?? "")\r\nSubject: journaled\r\nMessage-Id: <journal@corp.example>\r\n"
        for to in r.to { envelope += "To: \(to)\r\n" }
        for cc in r.cc { envelope += "Cc: \(cc)\r\n" }
        for bcc in r.bcc { envelope += "Bcc: \(bcc)\r\n" }
        let head = "X-MS-Journal-Report:\r\nContent-Type: multipart/mixed; boundary=\"jr\"\r\nMIME-Version: 1.0\r\n\r\n--jr\r\n"
            + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + envelope + "\r\n--jr\r\nContent-Type: message/rfc822\r\n\r\n"
        return Array(head.utf8) + original + Array("\r\n--jr--\r\n".utf8)
    }

    @Test func everyOperatorFindsWhatTheOracleFinds() async throws {
        try await withTempDirectory { dir in
            let generated = dir + "/generated"
            let make = try await runProcess("/usr/bin/env", ["python3", Self.extractDirectory + "/make_messages.py", generated], in: dir)
            try #require(make.status == 0, "make_messages.py: \(make.stderr)")
            var files = try FileManager.default.contentsOfDirectory(atPath: generated).filter { $0.hasSuffix(".eml") }.sorted()
                .map { generated + "/" + $0 }
            let corpus = (try? FileManager.default.contentsOfDirectory(atPath: Corpus.directory)) ?? []
            files += corpus.filter { $0 != "LICENSE.txt" && $0 != "README.md" }.sorted().map { Corpus.directory + "/" + $0 }
            let journalOnly = dir + "/journal-only.eml"
            try Data("From: Insider <insider@corp.example>\r\nTo: dave@corp.example\r\nSubject: quiet word\r\nDate: Sun, 15 Jan 2023 09:00:00 +0000\r\nMessage-ID: <journal-only@corp.example>\r\n\r\nThe obsidianpelican plan stays between us.\r\n".utf8)
                .write(to: URL(fileURLWithPath: journalOnly))

            var options = ArchiveStoreOptions()
            options.searchIndex = true
            let store = try await ArchiveStore.open(dataDirectory: dir + "/data", options: options, logger: testLogger)
            var manifest: [String: ManifestMessage] = [:]
            var order: [String] = []
            var names: [String: [String]] = [:]

            // One manifest entry per original, named by its archive id: byte-identical files
            // (the corpus has two pairs) are one original with an arrival each.
            func archive(_ name: String, file: String, received: [UInt8], arrival: ManifestArrival, n: Int) async throws {
                var draft = try store.makeArrivalDraft(envelope: Self.envelope(n, at: arrival.received_at, sender: arrival.mail_from,
                                                                                recipients: arrival.rcpt_to), unwrapReports: true)
                try received.withUnsafeBytes { try draft.append(raw: $0) }
                let id = try await store.commit(try draft.finish()).id
                if manifest[id] == nil {
                    manifest[id] = ManifestMessage(name: id, file: file, arrivals: [])
                    order.append(id)
                }
                manifest[id]?.arrivals.append(arrival)
                if names[id]?.contains(name) != true { names[id, default: []].append(name) }
            }

            for (n, file) in files.enumerated() {
                let bytes = try #require(FileManager.default.contents(atPath: file).map { [UInt8]($0) })
                let arrival = ManifestArrival(received_at: Self.firstArrival + n * 6 * 3600, mail_from: "env-sender-\(n)@relay.example",
                                              rcpt_to: ["env-rcpt-\(n)@archive.example"])
                try await archive(URL(fileURLWithPath: file).lastPathComponent, file: file, received: bytes, arrival: arrival, n: n)
            }
            // A second arrival of a generated original, as a journal report naming a Bcc
            // recipient; and an original that only a journal report brought.
            let reports: [(String, String, ManifestReport)] = [
                ("01-latin1-qp.eml", generated + "/01-latin1-qp.eml",
                 ManifestReport(senders: ["ceo@corp.example"], to: ["bob@example.org"], cc: [], bcc: ["secret.auditor@corp.example"])),
                ("journal-only.eml", journalOnly,
                 ManifestReport(senders: ["insider@corp.example"], to: ["dave@corp.example"], cc: ["erin@corp.example"], bcc: ["carol.hidden@corp.example"])),
            ]
            for (i, (name, file, envelope)) in reports.enumerated() {
                let original = try #require(FileManager.default.contents(atPath: file).map { [UInt8]($0) })
                let arrival = ManifestArrival(received_at: 1_748_736_000 + i * 3600, mail_from: "journaling@corp.example",
                                              rcpt_to: ["journal@archive.example"], report: envelope)
                try await archive(name, file: file, received: Self.report(original, envelope), arrival: arrival, n: 1000 + i)
            }
            #expect(await store.waitForSearchIndex(timeout: TimeInterval(patience)))
            try await store.close()

            let manifestPath = dir + "/manifest.json"
            let encoder = JSONEncoder()
            try encoder.encode(["messages": order.compactMap { manifest[$0] }]).write(to: URL(fileURLWithPath: manifestPath))
            let run = try await runProcess("/usr/bin/env", ["python3", Self.oracle, manifestPath, Self.extractDirectory], in: dir)
            try #require(run.status == 0, "search_oracle.py: \(run.stderr)")
            let expectations = try JSONDecoder().decode([Expectation].self, from: Data(run.stdout))
            #expect(expectations.count >= 50)

            let search = try ArchiveSearch(dataDirectory: dir + "/data", logger: testLogger)
            for e in expectations {
                let hits = try search.hits(e.query, limit: 1_000_000)
                let found = Set(hits.map(\.id))
                #expect(found.isSubset(of: Set(order)), "\(e.query): a hit that is no archived message")
                #expect(try search.count(e.query) == hits.count, "\(e.query): count and hits differ")
                let missing = Set(e.expected).subtracting(found)
                #expect(missing.isEmpty, "\(e.query): missing \(missing.flatMap { names[$0] ?? [$0] }.sorted())")
                if e.exact {
                    let extra = found.subtracting(e.expected)
                    #expect(extra.isEmpty, "\(e.query): found more than the oracle: \(extra.flatMap { names[$0] ?? [$0] }.sorted())")
                }
            }
            // The queries that matter most did find something (a broken oracle finds nothing).
            let nonEmpty = expectations.filter { !$0.expected.isEmpty }.count
            #expect(nonEmpty >= expectations.count - 2, "the oracle found nothing for \(expectations.count - nonEmpty) queries")
        }
    }
}
