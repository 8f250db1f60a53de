import Foundation
import TestSupport
import Testing

extension NodeTestSupport {
    /// Sends `(sender, text)` messages to a listener with Python's smtplib, in one session.
    static func sendMail(_ messages: [(sender: String, text: String)], port: Int, root: String) async throws {
        let script = """
            import smtplib, sys
            with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
                for sender, text in zip(sys.argv[2::2], sys.argv[3::2]):
                    s.sendmail(sender, ["journal@archive.example"], text.encode())
            """
        let sent = try await runProcess(python, ["-c", script, "\(port)"] + messages.flatMap { [$0.sender, $0.text] }, in: root)
        guard sent.status == 0 else { throw NodeTestError("smtplib: \(sent.stderr)") }
    }
}

/// What the operator sees and what the node leaves on disk, through the real binary: a
/// data directory no other user can read even under umask 000, control characters from
/// mail and peers escaped, ambiguous lookups and malformed times refused.
@Suite(.timeLimit(NodeTestSupport.scaledMinutes(3)))
struct OperatorSafetyTests {
    /// Every path under `root` whose permission bits give the group write or others anything.
    static func openToOthers(under root: String) -> [String] {
        var found: [String] = []
        var pending = [root]
        while let path = pending.popLast() {
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            if info.st_mode & 0o027 != 0 { found.append("\(path) \(String(info.st_mode & 0o7777, radix: 8))") }
            if info.st_mode & S_IFMT == S_IFDIR {
                pending += ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { path + "/" + $0 }
            }
        }
        return found
    }

    /// `command` run by /bin/sh after `umask 000`.
    static func underUmask000(_ command: [String]) -> (executable: String, arguments: [String]) {
        ("/bin/sh", ["-c", "umask 000 && exec \"$@\"", "sh"] + command)
    }

    /// A node whose journal mail is archived and forwarded to 127.0.0.1:`peerPort`.
    static func forwardingNode(_ id: String, root: String, peerPort: Int) throws -> ChainNode {
        let node = try ChainNode(id: id, root: root)
        try node.writeConfig(node.connection(name: "peer", port: peerPort) + """
            [[route]]
            name = "journal"
            listeners = ["journal"]
            forward = ["peer"]
            """)
        return node
    }

    /// A node started under umask 000 with a queued entry (its peer is down), then an
    /// export under umask 000: every directory and file it made is owner and group only.
    @Test func aNodeUnderUmask000KeepsItsDataPrivate() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let node = try Self.forwardingNode("private", root: root, peerPort: try freePort())  // nothing listens there
        let serve = Self.underUmask000([node.binary, "serve", "--config", node.configPath])
        let process = try workspace.children.launch(serve.executable, serve.arguments, log: node.log)
        try await NodeTestSupport.waitUntilListening(process, ports: [node.journalPort, node.haPort], log: node.log)
        try await NodeTestSupport.sendMail([("alice@example.com", "Subject: private\r\n\r\nfor the archive only\r\n")], port: node.journalPort, root: root)
        #expect(try await node.queueDepth() == 1)
        #expect(FileManager.default.fileExists(atPath: node.dataDir + "/archive/index.sqlite-wal"))
        let whileServing = Self.openToOthers(under: node.dataDir)
        #expect(whileServing.isEmpty, "\(whileServing)")
        await node.stop(process)

        let exportDir = root + "/export"
        for (format, out) in [("eml", exportDir + "/eml"), ("mbox", exportDir + "/all.mbox")] {  // eml creates the directory
            let export = Self.underUmask000([node.binary, "archive", "export", "--format", format, "--out", out, "--data-dir", node.dataDir])
            let run = try await runProcess(export.executable, export.arguments, in: root)
            #expect(run.status == 0, "\(run.stderr)")
        }
        let afterward = Self.openToOthers(under: node.dataDir) + Self.openToOthers(under: exportDir)
        #expect(afterward.isEmpty, "\(afterward)")
    }

    /// A peer that greets every connection with a 421 whose text sets the terminal's title.
    static let hostilePeer = """
        import socket, sys
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
        while True:
            c, _ = s.accept(); c.sendall(b"421 4.3.2 \\x1b]0;owned\\x07 busy\\r\\n"); c.close()
        """

    static let title = "\u{1B}]0;owned\u{07}"

    /// Hostile bytes in a Message-ID, a Subject and a peer's reply reach the operator's
    /// terminal escaped (as JSON, unchanged in value); a Message-ID two messages share is
    /// refused with both ids; `archive get` will not write to a terminal without `--raw`;
    /// malformed `--since` values are usage errors.
    @Test func whatTheOperatorSeesIsSafe() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let peerPort = try freePort()
        _ = try workspace.children.launch(NodeTestSupport.python, ["-c", Self.hostilePeer, "\(peerPort)"], log: root + "/peer.log")
        let node = try Self.forwardingNode("screen", root: root, peerPort: peerPort)
        let process = try await node.start(workspace.children)
        let hostileID = "<\(Self.title)@evil.example>"
        try await NodeTestSupport.sendMail([
            ("alice@example.com", "Message-ID: \(hostileID)\r\nSubject: \(Self.title) \u{9B}31m\r\n\r\nhello\r\n"),
            ("bob@example.com", "Message-ID: <dup@example.test>\r\nSubject: one\r\n\r\nfirst\r\n"),
            ("bob@example.com", "Message-ID: <dup@example.test>\r\nSubject: two\r\n\r\nsecond\r\n"),
        ], port: node.journalPort, root: root)
        func cli(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
            let run = try await runProcess(node.binary, arguments + ["--data-dir", node.dataDir], in: root)
            return (run.status, String(decoding: run.stdout, as: UTF8.self), run.stderr)
        }
        func isSafe(_ text: String) -> Bool { !text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || (0x7F...0x9F).contains($0.value) } }

        let list = try await cli(["archive", "list"])
        #expect(list.status == 0 && isSafe(list.stdout), "\(list.stdout.debugDescription)")
        #expect(list.stdout.contains("<\\x1b]0;owned\\x07@evil.example>"), "\(list.stdout)")
        let json = try await cli(["archive", "list", "--json"])
        #expect(isSafe(json.stdout), "\(json.stdout.debugDescription)")
        let entries = try json.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(entries.contains { $0["subject"] as? String == "\(Self.title) \u{9B}31m" }, "JSON keeps the value: \(entries)")

        let ambiguous = try await cli(["archive", "get", "<dup@example.test>"])
        let dupIDs = entries.filter { $0["message_id"] as? String == "<dup@example.test>" }.compactMap { $0["id"] as? String }
        #expect(ambiguous.status == 1 && dupIDs.count == 2 && dupIDs.allSatisfy(ambiguous.stderr.contains), "\(ambiguous.stderr)")
        let byHostileID = try await cli(["archive", "get", hostileID])
        #expect(byHostileID.status == 0 && byHostileID.stdout.contains("hello"))

        for (since, listed) in [("2000-01-01", 3), ("2000-01-01T00:00:00+02:00", 3), ("9999-12-31T23:59:59Z", 0), ("9999-12-31", 0)] {
            let run = try await cli(["archive", "list", "--since", since])
            #expect(run.status == 0 && run.stdout.split(separator: "\n").count == listed, "--since \(since): \(run.stdout) \(run.stderr)")
        }
        for since in ["2000-01-01T00:00:00", "2026-02-30", "2000-01-01garbage", "2000-01-01\u{1B}[2J"] {
            let run = try await cli(["archive", "list", "--since", since])
            #expect(run.status == 64 && run.stderr.contains("RFC 3339") && isSafe(run.stderr), "--since \(since.debugDescription): \(run.stderr)")
        }

        let pty = """
            import os, pty, subprocess, sys
            master, slave = pty.openpty()
            p = subprocess.run(sys.argv[1:], stdout=slave, stderr=subprocess.PIPE)
            os.close(slave)
            out = b""
            try:
                while chunk := os.read(master, 65536): out += chunk
            except OSError:
                pass
            print(p.returncode, len(out)); sys.stderr.write(p.stderr.decode())
            """
        for (raw, expected) in [(false, "1 0"), (true, "0 ")] {
            let get = [node.binary, "archive", "get", hostileID, "--data-dir", node.dataDir] + (raw ? ["--raw"] : [])
            let run = try await runProcess(NodeTestSupport.python, ["-c", pty] + get, in: root)
            let said = String(decoding: run.stdout, as: UTF8.self)
            #expect(said.hasPrefix(expected) && said != "0 0\n", "raw \(raw): \(said) \(run.stderr)")
        }

        let target = ["--data-dir", node.dataDir, "--admin", "127.0.0.1:\(node.adminPort)"]
        var failedEntry: Int?  // an entry whose last error is the peer's greeting
        #expect(try await eventually {
            let dump = try await runProcess(node.binary, ["queue", "dump", "--json"] + target, in: root)
            failedEntry = dump.stdout.split(separator: UInt8(ascii: "\n")).lazy
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
                .first { $0["type"] as? String == "entry" && ($0["lastError"] as? String)?.contains(Self.title) == true }?["id"] as? Int
            return failedEntry != nil
        }, "the peer's greeting never became an entry's last error")
        for command in [["queue", "dump"], ["queue", "show", "\(failedEntry ?? 0)"]] {
            let run = try await runProcess(node.binary, command + target, in: root)
            let text = String(decoding: run.stdout, as: UTF8.self)
            #expect(run.status == 0 && isSafe(text) && text.contains("\\x1b]0;owned\\x07"), "\(command): \(text.debugDescription) \(run.stderr)")
        }
        await node.stop(process)
    }

    /// `--log-level bogus` is a usage error before anything starts. (Were it accepted, the
    /// node would run: `timeout` stops it.)
    @Test func anUnknownLogLevelIsRefused() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = workspace.node
        let run = try await runProcess("/usr/bin/timeout", [
            "\(patience)", node.binary, "serve", "--log-level", "bogus", "--listen", "127.0.0.1:\(node.smtpPort)",
            "--admin", "127.0.0.1:\(node.adminPort)", "--data-dir", node.dataDir,
        ], in: workspace.root)
        #expect(run.status == 64 && run.stderr.contains("--log-level must be one of trace, debug"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: node.dataDir), "refused before anything was created")
    }

    /// check-config quotes the file's values in its problems: escaped too.
    @Test func checkConfigEscapesWhatItQuotes() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let config = workspace.root + "/hostile.toml"
        try "[node]\nid = \"a\\u001b]0;owned\\u0007\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let run = try await runProcess(workspace.node.binary, ["check-config", config], in: workspace.root)
        let text = String(decoding: run.stdout, as: UTF8.self)
        #expect(run.status == 1 && text.contains("a\\x1b]0;owned\\x07") && !text.contains("\u{1B}"), "\(text.debugDescription)")
    }
}
