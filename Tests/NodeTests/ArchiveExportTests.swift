import Foundation
import TestSupport
import Testing

/// `archive export`: the .eml files are the archived bytes, and the mbox file is one that
/// Python's `mailbox` module (an mbox reader we did not write) splits into exactly the
/// archived messages, which mboxrd's unquoting gives back byte for byte.
@Suite(.serialized) struct ArchiveExportTests {
    static let reader = NodeTestSupport.packageRoot.appendingPathComponent("Tests/NodeTests/Scripts/read_mbox.py").path

    /// Bodies whose lines an mbox reader could take for the start of another message.
    static let messages: [(sender: String, text: String)] = [
        ("alice@example.com", "Subject: plain\r\n\r\nNothing special.\r\n"),
        ("bob@example.com", "Subject: from lines\r\n\r\nFrom here on, a line that starts a new message in mbox.\r\n"
            + "From bob@example.com Mon Nov 30 11:00:00 2026\r\n>From quoted once\r\n>>From quoted twice\r\n"
            + " From not at the start\r\nFromage\r\n"),
        ("", "Subject: a bounce\r\n\r\nThe null sender: MAILER-DAEMON in the From_ line.\r\n"),
    ]

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(2)))
    func exportedMessagesAreTheArchivedBytes() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let node = try ChainNode(id: "export", root: root)
        try node.writeConfig("")
        let process = try await node.start(workspace.children)
        try await NodeTestSupport.sendMail(Self.messages, port: node.journalPort, root: root)
        await node.stop(process)

        var archived: [String: [UInt8]] = [:]  // id → bytes from `archive get`
        for id in try await NodeTestSupport.archiveList(binary: node.binary, dataDir: node.dataDir, scratch: root).keys {
            archived[id] = try await runProcess(node.binary, ["archive", "get", id, "--data-dir", node.dataDir], in: root).stdout
        }
        #expect(Set(archived.values) == Set(Self.messages.map { Array($0.text.utf8) }))

        let emlDir = root + "/eml"
        let eml = try await runProcess(node.binary, ["archive", "export", "--format", "eml", "--out", emlDir,
                                                              "--data-dir", node.dataDir], in: root)
        #expect(eml.status == 0, "\(eml.stderr)")
        for (id, bytes) in archived {
            #expect(FileManager.default.contents(atPath: "\(emlDir)/\(id).eml").map(Array.init) == bytes, "\(id).eml")
        }

        let mbox = root + "/archive.mbox"
        let export = try await runProcess(node.binary, ["archive", "export", "--format", "mbox", "--out", mbox,
                                                                 "--data-dir", node.dataDir], in: root)
        #expect(export.status == 0, "\(export.stderr)")
        let read = try await runProcess(NodeTestSupport.python, [Self.reader, mbox], in: root)
        try #require(read.status == 0, "\(read.stderr)")
        let entries = try String(decoding: read.stdout, as: UTF8.self).split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        }
        #expect(entries.count == Self.messages.count, "Python's mailbox found \(entries.count) messages")
        for entry in entries {
            let bytes = try #require(entry["bytes"].flatMap { Data(base64Encoded: $0) }.map(Array.init))
            let original = Self.messages.first { Array($0.text.utf8) == bytes }
            #expect(original != nil, "an mbox entry is no archived message: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            if let original {
                #expect(entry["sender"] == (original.sender.isEmpty ? "MAILER-DAEMON" : original.sender))
            }
        }
    }
}
