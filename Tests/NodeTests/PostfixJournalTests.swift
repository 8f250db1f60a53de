import Foundation
import TestSupport
import Testing

/// The deployment archiverelay is for: a mail server journals every message it handles
/// to the node. Here that server is a real Postfix 3.7 set up as operators do it
/// (`always_bcc`, the copy routed to the node by `transport_maps`, opportunistic
/// STARTTLS), with Postfix's own SMTP client, queue and dot-stuffing between the test's
/// messages and the archive.
@Suite(.serialized) struct PostfixJournalTests {
    /// Postfix only runs from a private configuration directory that root lists in
    /// /etc/postfix/main.cf (the script adds it and takes it out again).
    static let canRunPostfix = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/postfix")
    static let script = NodeTestSupport.packageRoot.appendingPathComponent("Tests/NodeTests/Scripts/postfix_journal.py").path

    /// Messages that make Postfix and the node work: 8-bit text, lines Postfix must
    /// dot-stuff, a 998-octet line, a 1.4 MB base64 attachment (many reads, packed body).
    static func messages() -> [(name: String, bytes: [UInt8])] {
        func message(_ index: Int, headers: String = "", body: String) -> (String, [UInt8]) {
            let text = "From: Sender <sender@origin.example>\r\nTo: User <user@dest.example>\r\n"
                + "Subject: postfix-journal-\(index)\r\nDate: Mon, 30 Nov 2026 11:00:0\(index) +0000\r\n"
                + "Message-ID: <postfix-journal-\(index)@origin.example>\r\n\(headers)\r\n\(body)"
            return (String(format: "%02d.eml", index), Array(text.utf8))
        }
        let attachment = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        let base64 = Data(attachment).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return [
            message(1, body: "A plain journal copy.\r\n"),
            message(2, headers: "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
                    body: "Grüße aus Zürich, δοκιμή, 試験.\r\n"),
            message(3, body: ".\r\n..\r\n.leading dot\r\n. \r\nend\r\n"),
            message(4, body: String(repeating: "x", count: 998) + "\r\n"),
            message(5, headers: "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n",
                    body: "--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b1\r\n"
                        + "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                        + base64 + "\r\n--b1--\r\n"),
        ]
    }

    @Test(.enabled(if: canRunPostfix), .timeLimit(NodeTestSupport.scaledMinutes(4)))
    func alwaysBccCopiesAreArchivedByteForByte() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let tls = try await TestPKI.shared().leaf
        let node = try ChainNode(id: "archive", root: root)
        try node.writeConfig("", journalExtra: ChainNode.startTLS(certificate: tls.certificate, key: tls.key))
        let process = try await node.start(workspace.children)
        let sinkPort = try freePort(), relayPort = try freePort()
        _ = try workspace.children.launch("/usr/sbin/smtp-sink", ["-u", "nobody", "127.0.0.1:\(sinkPort)", "100"],
                                          log: root + "/sink.log")

        let messagesDir = root + "/messages"
        try FileManager.default.createDirectory(atPath: messagesDir, withIntermediateDirectories: true)
        let messages = Self.messages()
        for (name, bytes) in messages {
            try Data(bytes).write(to: URL(fileURLWithPath: messagesDir + "/" + name))
        }

        let run = try await runProcess(NodeTestSupport.python, [
            Self.script, root, "\(relayPort)", "\(node.journalPort)", "\(sinkPort)", messagesDir,
        ], in: root)
        let postfixLog = NodeTestSupport.tail(root + "/postfix/log/postfix.log", bytes: 4000)
        try #require(run.status == 0, "postfix_journal.py: \(run.stderr)\nPostfix log:\n\(postfixLog)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(run.stdout)) as? [String: Any], "output: \(String(decoding: run.stdout, as: UTF8.self))")
        #expect(report["submitted"] as? Int == messages.count)
        #expect(report["journal_sent"] as? Int == messages.count, "Postfix log:\n\(postfixLog)\nnode log:\n\(NodeTestSupport.tail(node.log))")
        #expect((report["deferred"] as? [String])?.isEmpty == true, "\(report["deferred"] ?? "")")
        // Postfix used the STARTTLS the journal listener offers.
        #expect((report["journal_tls"] as? Int ?? 0) >= 1, "Postfix log:\n\(postfixLog)")

        // Every copy archived once, with the envelope Postfix gave it, and the content as
        // Postfix delivered it: its Received field on top of the message as submitted.
        let listing = try await runProcess(node.binary, ["archive", "list", "--json", "--data-dir", node.dataDir], in: root)
        let rows = String(decoding: listing.stdout, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(rows.count == messages.count)
        for (name, submitted) in messages {
            let subject = "postfix-journal-\(Int(name.prefix(2))!)"
            guard let row = rows.first(where: { $0["subject"] as? String == subject }), let id = row["id"] as? String else {
                Issue.record("\(subject) is not in the archive")
                continue
            }
            #expect(row["sender"] as? String == "sender@origin.example")
            #expect(row["recipients"] as? [String] == ["journal@archive.example"])
            let get = try await runProcess(node.binary, ["archive", "get", id, "--data-dir", node.dataDir], in: root)
            #expect(get.status == 0, "\(get.stderr)")
            let archived = get.stdout
            let prefix = archived.count >= submitted.count ? Array(archived.prefix(archived.count - submitted.count)) : []
            let postfixReceived = String(decoding: prefix, as: UTF8.self)
            #expect(Array(archived.suffix(submitted.count)) == submitted,
                    "\(subject): \(firstDifference(Array(archived.suffix(submitted.count)), submitted) ?? "lengths differ")")
            #expect(postfixReceived.hasPrefix("Received: from ") && postfixReceived.contains("by mta.origin.test (Postfix)")
                        && postfixReceived.hasSuffix("\r\n"), "\(subject): added before the message: \(postfixReceived)")
        }
        let verify = try await runProcess(node.binary, ["archive", "verify", "--data-dir", node.dataDir], in: root)
        #expect(verify.status == 0, "\(verify.stderr)")
        await node.stop(process)
    }
}
