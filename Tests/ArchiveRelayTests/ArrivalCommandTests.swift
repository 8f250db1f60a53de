import ArchiveStore
import Crypto
import Foundation
import TestSupport
import Testing

/// The `archive` commands over an original with several arrivals (`ArrivalFixture`): list's
/// unions and counts, show, get of the original and of an arrival as received, and export
/// with the arrivals' envelopes, read back by Python's `email` package.
@Suite struct ArrivalCommandTests {
    typealias F = ArrivalFixture

    func withFixture(_ body: (ArrivalFixture, String) async throws -> Void) async throws {
        try await withTempDirectory("arrival-cli") { dir in
            try await body(try await ArrivalFixture.build(in: dir), dir)
        }
    }

    private static func objects(_ run: ProcessRun) throws -> [[String: Any]] {
        try String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test func listUnitesTheArrivals() async throws {
        try await withFixture { fixture, dir in
            let run = try await fixture.archive(["list", "--json"], in: dir)
            #expect(run.status == 0, "\(run.stderr)")
            let listed = try Self.objects(run)
            try #require(listed.count == 1, "one original: \(listed)")
            let entry = listed[0]
            #expect(entry["id"] as? String == F.plainA.suggestedID)
            #expect(entry["arrivals"] as? Int == 3)
            #expect(entry["journal"] as? Bool == true)
            #expect(entry["sender"] as? String == "alice@corp.example")
            #expect(entry["senders"] as? [String] == ["alice@corp.example", "boss@corp.example"])
            #expect(entry["recipients"] as? [String] == [
                "bob@corp.example", "carol@corp.example", "audit@corp.example", "journal@archive.example", "dave@corp.example",
                "eve@corp.example", "\"odd; name\"@corp.example", "frank@corp.example", "sales@corp.example", "grace@corp.example",
                "henry@corp.example",
            ])

            let text = try await fixture.archive(["list"], in: dir)
            #expect(String(decoding: text.stdout, as: UTF8.self)
                == "\(F.plainA.suggestedID ?? "")  2026-12-07T10:00:00.250Z  alice@corp.example  \(F.original.count)  arrivals=3,journal  <q4@corp.example>\n")

            // Found by the real sender and every recipient; not by the report's SMTP sender.
            for (option, address, found) in [
                ("--recipient", "EVE@corp.example", 1), ("--recipient", "sales@corp.example", 1), ("--recipient", "henry@corp.example", 1),
                ("--recipient", "carol@corp.example", 1), ("--recipient", "nobody@corp.example", 0), ("--sender", "boss@corp.example", 1),
                ("--sender", "journal@exchange.corp.example", 0),
            ] {
                let filtered = try await fixture.archive(["list", "--json", option, address], in: dir)
                #expect(try Self.objects(filtered).count == found, "\(option) \(address): \(filtered.stderr)")
            }
        }
    }

    @Test func showGivesEveryArrivalsEnvelopeAsJSON() async throws {
        try await withFixture { fixture, dir in
            for key in [F.journal.suggestedID ?? "", "sha256:\(F.originalSHA256)", "q4@corp.example", F.plainA.suggestedID ?? ""] {
                let run = try await fixture.archive(["show", key, "--json"], in: dir)
                #expect(run.status == 0, "\(key): \(run.stderr)")
                let shown = try #require(try Self.objects(run).first)
                var summary = shown
                summary["arrivals"] = nil
                let expected: [String: Any] = [
                    "id": F.plainA.suggestedID ?? "", "sha256": F.originalSHA256, "size": F.original.count,
                    "stored_size": try #require(summary["stored_size"] as? Int), "received_at": "2026-12-07T10:00:00.250Z",
                    "journal": true, "senders": ["alice@corp.example", "boss@corp.example"],
                    "recipients": try #require(summary["recipients"] as? [String]),
                    "headers": [
                        "from": "Alice <alice@corp.example>", "to": "Bob <bob@corp.example>, Carol <carol@corp.example>",
                        "cc": "=?UTF-8?Q?Dav=C3=A9?= <dave@corp.example>", "subject": "Quarterly numbers \u{1B}]0;owned\u{07}",
                        "date": "Mon, 7 Dec 2026 10:00:00 +0000", "message_id": "<q4@corp.example>",
                    ],
                ]
                #expect(NSDictionary(dictionary: summary) == NSDictionary(dictionary: expected), "\(key): \(summary)")
                let arrivals = try #require(shown["arrivals"] as? [[String: Any]])
                let wanted = Self.expectedArrivals
                #expect(arrivals.count == wanted.count)
                for (got, want) in zip(arrivals, wanted) {
                    #expect(NSDictionary(dictionary: got) == NSDictionary(dictionary: want), "\(got)\nwanted \(want)")
                }
            }
        }
    }

    static var expectedArrivals: [[String: Any]] {
        let plain = F.original.count
        let received = F.reportBytes
        return [
            ["id": F.plainA.suggestedID ?? "", "received_at": "2026-12-07T10:00:00.250Z", "node": "node-a", "listener": "journal",
             "client": "192.0.2.7:51234", "helo": "mx1.corp.example", "tls": "TLSv1.3 TLS_AES_128_GCM_SHA256", "mail_from": "alice@corp.example",
             "rcpt_to": ["bob@corp.example"], "received_size": plain, "received_sha256": F.originalSHA256, "wrapper": false, "report": NSNull()],
            ["id": F.plainB.suggestedID ?? "", "received_at": "2026-12-07T10:01:00.250Z", "node": "node-a", "listener": "journal",
             "client": "[2001:db8::2]:40000", "helo": "mx2.corp.example", "tls": NSNull(), "mail_from": "alice@corp.example",
             "rcpt_to": ["carol@corp.example", "audit@corp.example"], "received_size": plain, "received_sha256": F.originalSHA256,
             "wrapper": false, "report": NSNull()],
            ["id": F.journal.suggestedID ?? "", "received_at": "2026-12-07T10:02:00.250Z", "node": "node-b", "listener": "exchange",
             "client": "198.51.100.9:2525", "helo": "exchange.corp.example", "tls": "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384",
             "mail_from": "journal@exchange.corp.example", "rcpt_to": ["journal@archive.example"], "received_size": received.count,
             "received_sha256": SHA256.hash(data: received).map { String(format: "%02x", $0) }.joined(), "wrapper": true,
             "report": [
                "format": "exchange2007", "sender": "alice@corp.example", "on_behalf_of": "boss@corp.example", "subject": "Quarterly numbers",
                "message_id": "<q4@corp.example>", "via_dsn": false,
                "recipients": [
                    ["address": "bob@corp.example", "kind": "to", "expanded_from": NSNull(), "forwarded_from": NSNull()],
                    ["address": "dave@corp.example", "kind": "cc", "expanded_from": NSNull(), "forwarded_from": NSNull()],
                    ["address": "eve@corp.example", "kind": "bcc", "expanded_from": NSNull(), "forwarded_from": NSNull()],
                    ["address": "\"odd; name\"@corp.example", "kind": "bcc", "expanded_from": NSNull(), "forwarded_from": NSNull()],
                    ["address": "frank@corp.example", "kind": "recipient", "expanded_from": "sales@corp.example", "forwarded_from": NSNull()],
                    ["address": "grace@corp.example", "kind": "recipient", "expanded_from": NSNull(), "forwarded_from": "henry@corp.example"],
                ] as [[String: Any]],
             ] as [String: Any]],
        ]
    }

    @Test func showPrintsEveryFieldEscaped() async throws {
        try await withFixture { fixture, dir in
            let run = try await fixture.archive(["show", F.plainB.suggestedID ?? ""], in: dir)
            #expect(run.status == 0, "\(run.stderr)")
            let a = F.plainA.suggestedID ?? "", b = F.plainB.suggestedID ?? "", c = F.journal.suggestedID ?? ""
            let expected = """
                original \(a)
                  sha256              \(F.originalSHA256)
                  size                \(F.original.count)
                  from                Alice <alice@corp.example>
                  to                  Bob <bob@corp.example>, Carol <carol@corp.example>
                  cc                  =?UTF-8?Q?Dav=C3=A9?= <dave@corp.example>
                  subject             Quarterly numbers \\x1b]0;owned\\x07
                  date                Mon, 7 Dec 2026 10:00:00 +0000
                  message-id          <q4@corp.example>
                arrival 1/3 \(a)
                  received-at         2026-12-07T10:00:00.250Z
                  node                node-a
                  listener            journal
                  client              192.0.2.7:51234
                  helo                mx1.corp.example
                  tls                 TLSv1.3 TLS_AES_128_GCM_SHA256
                  mail-from           <alice@corp.example>
                  rcpt-to             <bob@corp.example>
                  received            \(F.original.count) bytes, the original
                arrival 2/3 \(b)
                  received-at         2026-12-07T10:01:00.250Z
                  node                node-a
                  listener            journal
                  client              [2001:db8::2]:40000
                  helo                mx2.corp.example
                  tls                 none
                  mail-from           <alice@corp.example>
                  rcpt-to             <carol@corp.example>, <audit@corp.example>
                  received            \(F.original.count) bytes, the original
                arrival 3/3 \(c)
                  received-at         2026-12-07T10:02:00.250Z
                  node                node-b
                  listener            exchange
                  client              198.51.100.9:2525
                  helo                exchange.corp.example
                  tls                 TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384
                  mail-from           <journal@exchange.corp.example>
                  rcpt-to             <journal@archive.example>
                  received            \(F.reportBytes.count) bytes, wrapped (get --as-received)
                  report              exchange2007
                  report-sender       <alice@corp.example>
                  report-on-behalf-of <boss@corp.example>
                  report-subject      Quarterly numbers
                  report-message-id   <q4@corp.example>
                  report-recipient    to <bob@corp.example>
                  report-recipient    cc <dave@corp.example>
                  report-recipient    bcc <eve@corp.example>
                  report-recipient    bcc <"odd; name"@corp.example>
                  report-recipient    recipient <frank@corp.example>, expanded from <sales@corp.example>
                  report-recipient    recipient <grace@corp.example>, forwarded from <henry@corp.example>

                """
            let text = String(decoding: run.stdout, as: UTF8.self)
            #expect(text == expected, "\(firstDifference(Array(text.utf8), Array(expected.utf8)) ?? "")")

            let missing = try await fixture.archive(["show", "no-such-message"], in: dir)
            #expect(missing.status == 1 && missing.stderr.contains("not found"), "\(missing.stderr)")
        }
    }

    @Test func getGivesTheOriginalOrTheBytesAsReceived() async throws {
        try await withFixture { fixture, dir in
            for key in [F.plainA.suggestedID ?? "", F.journal.suggestedID ?? "", "sha256:\(F.originalSHA256)", "<q4@corp.example>"] {
                let run = try await fixture.archive(["get", key], in: dir)
                let isOriginal = run.stdout == F.original
                #expect(run.status == 0 && isOriginal, "get \(key): \(run.stderr)")
            }
            let report = try await fixture.archive(["get", "--as-received", F.journal.suggestedID ?? ""], in: dir)
            #expect(report.status == 0, "\(report.stderr)")
            let asReceived = report.stdout == F.reportBytes
            #expect(asReceived, "\(firstDifference(report.stdout, F.reportBytes) ?? "")")
            let lowercase = try await fixture.archive(["get", "--as-received", (F.journal.suggestedID ?? "").lowercased()], in: dir)
            let sameBytes = lowercase.stdout == F.reportBytes
            #expect(sameBytes, "\(lowercase.stderr)")
            let plain = try await fixture.archive(["get", "--as-received", F.plainB.suggestedID ?? ""], in: dir)
            let plainIsOriginal = plain.stdout == F.original
            #expect(plain.status == 0 && plainIsOriginal, "\(plain.stderr)")
            let byDigest = try await fixture.archive(["get", "--as-received", "sha256:\(F.originalSHA256)"], in: dir)
            #expect(byDigest.status == 1 && byDigest.stdout.isEmpty && byDigest.stderr.contains("archive show"), "\(byDigest.stderr)")
        }
    }
}
