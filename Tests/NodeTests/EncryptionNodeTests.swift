import Foundation
import TestSupport
import Testing

/// A node with `[archive] encryption_keys_file`: mail goes in through SMTP, the segment
/// files do not hold it, the archive commands given the configuration read it back
/// exactly, and a key added by reload (SIGHUP) encrypts the next segment.
@Suite(.timeLimit(NodeTestSupport.scaledMinutes(3)))
struct EncryptionNodeTests {
    static let marker = "okapimarmalade"

    static func message(_ n: Int) -> String {
        "Subject: \(marker) \(n)\r\nMessage-ID: <node-crypt-\(n)@example.test>\r\n\r\nThe \(marker) figures, part \(n).\r\n"
    }

    /// The key ids the segment headers name (u32 at offset 12), in segment order.
    static func headerKeyIDs(_ dataDir: String) -> [UInt32] {
        let archive = dataDir + "/archive"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: archive)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
        return names.map { name in
            let bytes = readFile(archive + "/" + name)
            guard bytes.count >= 16 else { return UInt32.max }
            return (12..<16).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[$1]) }
        }
    }

    @Test func anEncryptedNodeArchivesMailThatOnlyItsKeysRead() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let node = try ChainNode(id: "crypt", root: root)
        let keyFile = root + "/keys.toml"
        let first = try await runProcess(node.binary, ["key", "create", "--id", "1"], in: root)
        try #require(first.status == 0, "\(first.stderr)")
        #expect(FileManager.default.createFile(atPath: keyFile, contents: Data(first.stdout), attributes: [.posixPermissions: 0o600]))
        try node.writeConfig("[archive]\nencryption_keys_file = \"\(keyFile)\"\n")
        let checked = try await runProcess(node.binary, ["check-config", node.configPath], in: root)
        #expect(checked.status == 0, "\(checked.stderr)")

        let process = try await node.start(workspace.children)
        try await NodeTestSupport.sendMail([("a@example.test", Self.message(1))], port: node.journalPort, root: root)
        // A second key: the reload seals the segment, the next message goes to one with key 2.
        let second = try await runProcess(node.binary, ["key", "create", "--id", "2"], in: root)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: keyFile))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(second.stdout))
        try handle.close()
        process.sendSignal(SIGHUP)
        #expect(try await eventually { NodeTestSupport.tail(node.log, bytes: 20000).contains("configuration reloaded") })
        try await NodeTestSupport.sendMail([("b@example.test", Self.message(2))], port: node.journalPort, root: root)
        await node.stop(process)
        #expect(!NodeTestSupport.tail(node.log, bytes: 100_000).contains(String(decoding: first.stdout, as: UTF8.self).split(separator: "\"")[1]),
                "no secret in the log")

        #expect(Self.headerKeyIDs(node.dataDir) == [1, 2])
        let segments = ((try? FileManager.default.contentsOfDirectory(atPath: node.dataDir + "/archive")) ?? [])
            .filter { $0.hasSuffix(".seg") }.map { node.dataDir + "/archive/" + $0 }
        let grep = try await runProcess("/bin/grep", ["-c", Self.marker] + segments, in: root)
        #expect(grep.status == 1, "grep found the marker: \(String(decoding: grep.stdout, as: UTF8.self))")

        let config = ["--config", node.configPath]
        let list = try await runProcess(node.binary, ["archive", "list", "--json"] + config, in: root)
        try #require(list.status == 0, "\(list.stderr)")
        let ids = try String(decoding: list.stdout, as: UTF8.self).split(separator: "\n").compactMap { line in
            (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        }
        #expect(ids.count == 2)
        var got: Set<[UInt8]> = []
        for id in ids {
            let run = try await runProcess(node.binary, ["archive", "get", id] + config, in: root)
            #expect(run.status == 0, "\(run.stderr)")
            got.insert(run.stdout)
        }
        #expect(got == Set([1, 2].map { Array(Self.message($0).utf8) }))
        let verify = try await runProcess(node.binary, ["archive", "verify"] + config, in: root)
        #expect(verify.status == 0, "\(String(decoding: verify.stdout, as: UTF8.self) + verify.stderr)")
        // The node fed its search index through the keys.
        let search = try await runProcess(node.binary, ["archive", "search", Self.marker] + config, in: root)
        #expect(String(decoding: search.stdout, as: UTF8.self).split(separator: "\n").filter { $0.contains("node-crypt-") }.count == 2,
                "\(String(decoding: search.stdout, as: UTF8.self) + search.stderr)")

        // Without the keys: a clear error naming the key, no bytes.
        let id = try #require(ids.first)
        let blind = try await runProcess(node.binary, ["archive", "get", id, "--data-dir", node.dataDir], in: root)
        #expect(blind.status != 0 && blind.stdout.isEmpty)
        #expect(blind.stderr.contains("needs key"), "\(blind.stderr)")
    }
}
