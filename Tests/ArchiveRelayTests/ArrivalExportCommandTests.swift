import ArchiveStore
import Foundation
import TestSupport
import Testing

/// `archive export --with-envelope`, read back by Python's `email` and `mailbox` packages
/// (parsers we did not write): each arrival's `X-Archiverelay-Arrival` field parses, with
/// the documented quoting and folding, and what follows the fields is the original.
extension ArrivalCommandTests {
    /// Prints, per exported message (an .eml file, or an mbox entry unquoted as mboxrd
    /// says), a JSON object: the fields' parameters as Python's `email` unfolds them, the
    /// longest line of the fields, whether any was folded, and the bytes after the fields.
    static let reader = #"""
        import base64, email, email.policy, json, mailbox, re, sys

        def parameters(value):
            out, i, n = [], 0, len(value)
            while i < n:
                while i < n and value[i] in " \t": i += 1
                eq = value.index("=", i)
                name, items, i = value[i:eq], [], eq + 1
                while True:
                    if i < n and value[i] == '"':
                        i, item = i + 1, ""
                        while value[i] != '"':
                            if value[i] == "\\": i += 1
                            item, i = item + value[i], i + 1
                        i += 1
                    else:
                        j = i
                        while j < n and value[j] not in ";,": j += 1
                        item, i = value[i:j], j
                    items.append(item)
                    if i < n and value[i] == ",":
                        i += 1
                        while i < n and value[i] == " ": i += 1
                        continue
                    break
                out.append([name, items])
                if i < n and value[i] == ";": i += 1
            return out

        FIELDS = re.compile(rb"(?:X-Archiverelay-Arrival:[^\n]*\n(?:[ \t][^\n]*\n)*)*")
        QUOTED = re.compile(rb"^>(>*From )", re.M)

        def report(raw):
            message = email.message_from_bytes(raw, policy=email.policy.default)
            block = FIELDS.match(raw).group(0)
            lines = block.split(b"\n")[:-1]
            print(json.dumps({
                "fields": [parameters(str(v)) for v in message.get_all("X-Archiverelay-Arrival", [])],
                "longest": max([len(l.rstrip(b"\r")) for l in lines] or [0]),
                "folded": any(l[:1] in (b" ", b"\t") for l in lines),
                "crlf": all(l.endswith(b"\r") for l in lines),
                "subject": str(message["subject"]),
                "rest": base64.b64encode(raw[len(block):]).decode(),
            }))

        if sys.argv[1] == "eml":
            report(open(sys.argv[2], "rb").read())
        else:
            box = mailbox.mbox(sys.argv[2], create=False)
            for key in box.keys():
                report(QUOTED.sub(rb"\1", box.get_bytes(key, from_=False)))
        """#

    /// The parameters each arrival's field must carry, in order.
    static var expectedFields: [[[String]]] {
        let plain: (ArchiveEnvelope, String?) -> [[String]] = { e, tls in
            var p = [["id", e.suggestedID ?? ""], ["received", ""], ["node", e.node], ["listener", e.listener],
                     ["client", e.clientAddress], ["helo", e.helo]]
            if let tls { p.append(["tls", tls]) }
            p.append(["from", "<\(e.sender)>"])
            p.append(["to"] + e.recipients.map { "<\($0)>" })
            return p
        }
        return [
            plain(F.plainA, F.plainA.tls), plain(F.plainB, nil),
            plain(F.journal, F.journal.tls) + [
                ["report-sender", "<alice@corp.example>"], ["report-on-behalf-of", "<boss@corp.example>"],
                ["report-to", "<bob@corp.example>"], ["report-cc", "<dave@corp.example>"],
                ["report-bcc", "<eve@corp.example>", "<\"odd; name\"@corp.example>"],
                ["report-recipient", "<frank@corp.example>", "<grace@corp.example>"],
                ["report-expanded", "<frank@corp.example>=<sales@corp.example>"],
                ["report-forwarded", "<grace@corp.example>=<henry@corp.example>"],
            ],
        ]
    }

    private func readBack(_ format: String, _ path: String, in dir: String) async throws -> [[String: Any]] {
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "/usr/local/bin/python3"
        let run = try await runProcess(python, ["-c", Self.reader, format, path], in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        return try String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    private func expectEnvelope(_ read: [String: Any]) throws {
        let fields = try #require(read["fields"] as? [[[Any]]])
        let parsed = fields.map { field in field.map { parameter in [parameter[0] as? String ?? "?"] + (parameter[1] as? [String] ?? []) } }
        let times = ["2026-12-07T10:00:00.250Z", "2026-12-07T10:01:00.250Z", "2026-12-07T10:02:00.250Z"]
        var expected = Self.expectedFields
        for (n, time) in times.enumerated() { expected[n][1] = ["received", time] }
        #expect(parsed == expected)
        #expect(read["folded"] as? Bool == true && (read["longest"] as? Int ?? 999) <= 78, "\(read)")
        #expect(read["crlf"] as? Bool == true, "the fields end lines as the original does")
        #expect(read["subject"] as? String == "Quarterly numbers \u{1B}]0;owned\u{07}")
        let rest = try #require((read["rest"] as? String).flatMap { Data(base64Encoded: $0) }.map(Array.init))
        let isOriginal = rest == F.original
        #expect(isOriginal, "\(firstDifference(rest, F.original) ?? "")")
    }

    @Test(arguments: [("a: b\r\n\r\nbody\n", "\r\n"), ("a: b\n\nbody\r\n", "\n"), ("\nbody", "\n"), ("no line end", "\r\n"), ("", "\r\n")])
    func envelopeFieldsEndLinesAsTheOriginal(original: String, lineEnd: String) {
        #expect(ArrivalHeaderField.lineEnding(of: Array(original.utf8)) == Array(lineEnd.utf8))
    }

    @Test func itemsAreQuotedOnlyWhenTheyMustBe() {
        #expect(ArrivalHeaderField.item("<a@b.example>") == "<a@b.example>")
        #expect(ArrivalHeaderField.item("2026-12-07T10:00:00.250Z") == "2026-12-07T10:00:00.250Z")
        #expect(ArrivalHeaderField.item("<\"x\\y\"@b>") == #""<\"x\\y\"@b>""#)
        #expect(ArrivalHeaderField.item("TLSv1.3 TLS_AES") == "\"TLSv1.3 TLS_AES\"")
        #expect(ArrivalHeaderField.item("") == "\"\"")
        #expect(ArrivalHeaderField.item("a\r\nb") == "\"a\u{FFFD}\u{FFFD}b\"")
        #expect(ArrivalHeaderField.item("caf\u{E9}") == "caf\u{E9}")
    }

    @Test func exportWithEnvelopeKeepsEveryArrivalBeforeTheOriginal() async throws {
        try await withFixture { fixture, dir in
            let id = F.plainA.suggestedID ?? ""
            let plain = try await fixture.archive(["export", "--format", "eml", "--out", dir + "/plain"], in: dir)
            #expect(plain.status == 0, "\(plain.stderr)")
            #expect(readFile(dir + "/plain/\(id).eml") == F.original, "without --with-envelope: the original exactly")

            let eml = try await fixture.archive(["export", "--format", "eml", "--with-envelope", "--out", dir + "/eml"], in: dir)
            #expect(eml.status == 0, "\(eml.stderr)")
            let read = try await readBack("eml", dir + "/eml/\(id).eml", in: dir)
            try #require(read.count == 1)
            try expectEnvelope(read[0])

            let mbox = try await fixture.archive(["export", "--format", "mbox", "--with-envelope", "--out", dir + "/all.mbox"], in: dir)
            #expect(mbox.status == 0, "\(mbox.stderr)")
            let entries = try await readBack("mbox", dir + "/all.mbox", in: dir)
            try #require(entries.count == 1, "Python's mailbox found \(entries.count) messages")
            try expectEnvelope(entries[0])

            let bare = try await fixture.archive(["export", "--format", "mbox", "--out", dir + "/bare.mbox"], in: dir)
            #expect(bare.status == 0, "\(bare.stderr)")
            let bareEntries = try await readBack("mbox", dir + "/bare.mbox", in: dir)
            #expect(bareEntries.count == 1 && (bareEntries.first?["fields"] as? [Any])?.isEmpty == true)
            #expect((bareEntries.first?["rest"] as? String).flatMap { Data(base64Encoded: $0) }.map(Array.init) == F.original)
        }
    }
}
