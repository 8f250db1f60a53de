import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Expiry through the real binary: `archive expire` with the node stopped, the node's own
/// job killed with SIGKILL at each durable step and finished at the next start, and a pair
/// expiring the same mail. After each: what retention keeps (and every acknowledged
/// message) is there, what it lets go is gone from list, search and segments, and
/// `archive verify` and `archive audit verify` pass.
@Suite(.serialized) struct ExpiryNodeTests {
    /// Mail older than the default's 30 days once the clock is skewed 31 days; every
    /// third message's subject says `keepme`, which the `long` rule keeps a year, and so
    /// do four more at the end: they fill the active segment (2 KiB segments), whose
    /// records expiry leaves for a later run.
    static func messages(_ tag: String, count: Int) -> [(sender: String, text: String)] {
        (0..<(count + 4)).map { i in
            let subject = i % 3 == 2 || i >= count ? "keepme \(tag) \(i)" : "report \(tag) \(i)"
            var body = ""
            for line in 0..<20 { body += "line \(line) of word\(tag)\(i)x, enough text to fill segments\r\n" }
            return ("s\(i)@example.com", "From: s\(i)@example.com\r\nTo: r@example.com\r\nSubject: \(subject)\r\n\r\n\(body)")
        }
    }

    static let retention = """
        [archive]
        segment_max_bytes = 2048

        [retention]
        default = "30d"
        expire_every_seconds = 1

        [[retention.rule]]
        name = "long"
        keep = "1y"
        query = "subject:keepme"
        """

    static let skewed = ["ARCHIVERELAY_EXPIRY_SKEW_DAYS": "31"]

    struct Archive {
        let node: ChainNode
        let root: String

        func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessRun {
            try await runProcess(node.binary, ["archive"] + arguments + ["--data-dir", node.dataDir], in: root, environment: environment)
        }

        /// Subjects of the originals `archive list` shows.
        func subjects() async throws -> Set<String> {
            let listed = try await run(["list", "--json"])
            #expect(listed.status == 0, "\(listed.stderr)")
            return Set(try String(decoding: listed.stdout, as: UTF8.self).split(separator: "\n").compactMap { line in
                (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["subject"] as? String
            })
        }

        /// Verify and the audit chain pass, every `keepme` message and every one in
        /// `mustStay` is listed, and no other is (`expired` of them were removed).
        func checkExpired(sent: [(sender: String, text: String)], mustStay: Set<String> = []) async throws {
            let verify = try await run(["verify"])
            #expect(verify.status == 0, "verify: \(String(decoding: verify.stdout, as: UTF8.self)) \(verify.stderr)")
            let audit = try await run(["audit", "verify"])
            #expect(audit.status == 0, "audit verify: \(String(decoding: audit.stdout, as: UTF8.self)) \(audit.stderr)")
            let listed = try await subjects()
            for (_, text) in sent {
                guard let subject = text.split(separator: "\r\n").first(where: { $0.hasPrefix("Subject: ") })?.dropFirst(9) else { continue }
                let kept = subject.hasPrefix("keepme") || mustStay.contains(String(subject))
                #expect(listed.contains(String(subject)) == kept, "\(subject)")
            }
        }
    }

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(3)))
    func expireWithTheNodeStoppedRemovesWhatRetentionLetsGo() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "expiry", root: workspace.root)
        try node.writeConfig(Self.retention.replacingOccurrences(of: "expire_every_seconds = 1", with: "expire_every_seconds = 86400"))
        let sent = Self.messages("a", count: 12)
        let process = try await node.start(workspace.children)
        try await NodeTestSupport.sendMail(sent, port: node.journalPort, root: workspace.root)
        await node.stop(process)
        let archive = Archive(node: node, root: workspace.root)

        let planned = try await archive.run(["expire", "--dry-run", "--config", node.configPath, "--at", ISO8601DateFormatter().string(from: Date() + 31 * 86_400)])
        #expect(String(decoding: planned.stdout, as: UTF8.self).hasSuffix("expired: 8, kept by hold: 0, originals: 16\n"), "\(planned.stderr)")
        let removed = try await archive.run(["expire", "--config", node.configPath], environment: Self.skewed)
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(String(decoding: removed.stdout, as: UTF8.self) == "removed: 8 originals (8 records); default=8, deferred: 0\n")
        try await archive.checkExpired(sent: sent)

        let verify = String(decoding: try await archive.run(["verify"]).stdout, as: UTF8.self)
        #expect(verify.contains("expiry removed 8 records (default: 8)"), "\(verify)")
        let expired = try await archive.run(["expired", "--json"])
        #expect(String(decoding: expired.stdout, as: UTF8.self).split(separator: "\n").count == 8)
        let search = try await archive.run(["search", "--count", "worda0x"])
        #expect(String(decoding: search.stdout, as: UTF8.self) == "0\n", "\(search.stderr)")
        let log = String(decoding: try await archive.run(["audit", "--json"]).stdout, as: UTF8.self)
        let entry = try #require(log.split(separator: "\n").last { $0.contains("\"archive.expire\"") && $0.contains("\"lists\"") })
        #expect(entry.contains("\"actor\":\"user:"), "\(entry)")
        // Nothing left to remove; a second run changes nothing and verify still passes.
        let again = try await archive.run(["expire", "--config", node.configPath], environment: Self.skewed)
        #expect(String(decoding: again.stdout, as: UTF8.self).hasPrefix("removed: 0 originals"), "\(again.stderr)")
        try await archive.checkExpired(sent: sent)
    }

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(8)),
          arguments: ["plan-written", "search-removed", "list-written", "segment-rewritten", "list-installed", "compacted",
                      "index-removal-starting", "index-removed", "fresh-rows-added", "audited"])
    func aNodeKilledAtEachStepOfItsExpiryFinishesItAtTheNextStart(_ step: String) async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "expiry", root: workspace.root)
        let archive = Archive(node: node, root: workspace.root)
        // First the mail, with expiry idle.
        try node.writeConfig(Self.retention.replacingOccurrences(of: "expire_every_seconds = 1", with: "expire_every_seconds = 86400"))
        let sent = Self.messages("k", count: 12)
        var process = try await node.start(workspace.children)
        try await NodeTestSupport.sendMail(sent, port: node.journalPort, root: workspace.root)
        await node.stop(process)
        // Then a node whose expiry runs a second after start and kills it at `step`.
        try node.writeConfig(Self.retention)
        process = try await node.start(workspace.children, environment: Self.skewed.merging(["ARCHIVERELAY_EXPIRY_CRASH_AT": step]) { $1 })
        #expect(await process.waitForExit(timeout: .seconds(patience)), "no SIGKILL at \(step); log:\n\(NodeTestSupport.tail(node.log))")
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
        // Restarted without the skew, nothing more expires by itself: what was removed is
        // what the killed run planned, finished at open.
        try node.writeConfig(Self.retention.replacingOccurrences(of: "expire_every_seconds = 1", with: "expire_every_seconds = 86400"))
        process = try await node.start(workspace.children)
        let late = Self.messages("late", count: 3)
        try await NodeTestSupport.sendMail(late, port: node.journalPort, root: workspace.root)  // acknowledged after the crash
        await node.stop(process)
        try await archive.checkExpired(sent: sent, mustStay: Set(late.map { String($0.text.split(separator: "\r\n")[2].dropFirst(9)) }))
        #expect(!FileManager.default.fileExists(atPath: node.dataDir + "/archive/expiry.plan"))
    }

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(4)))
    func aPairExpiresTheSameMailAndEndsWithEqualDigests() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let a = try ChainNode(id: "a", root: workspace.root)
        let b = try ChainNode(id: "b", root: workspace.root)
        try ChainNode.configurePair(a, b)
        for node in [a, b] {
            let config = try String(contentsOfFile: node.configPath, encoding: .utf8)
            try (config + "\n" + Self.retention.replacingOccurrences(of: "expire_every_seconds = 1", with: "expire_every_seconds = 86400"))
                .write(toFile: node.configPath, atomically: true, encoding: .utf8)
        }
        let processes = [try await a.start(workspace.children), try await b.start(workspace.children)]
        let sentA = Self.messages("pa", count: 9), sentB = Self.messages("pb", count: 9)  // 13 originals each
        try await NodeTestSupport.sendMail(sentA, port: a.journalPort, root: workspace.root)
        try await NodeTestSupport.sendMail(sentB, port: b.journalPort, root: workspace.root)
        let replicated = try await eventually {
            let onA = try await a.archivedDigests().count, onB = try await b.archivedDigests().count
            return onA == 26 && onB == 26
        }
        #expect(replicated, "both nodes hold all 26 originals")
        for (node, process) in zip([a, b], processes) {
            let drained = try await eventually { try await node.queueDepth() == 0 }
            #expect(drained, "\(node.id)'s queue drained")
            await node.stop(process)
        }
        #expect(try await a.digest() == b.digest())
        for node in [a, b] {
            let archive = Archive(node: node, root: workspace.root)
            let removed = try await archive.run(["expire", "--config", node.configPath], environment: Self.skewed)
            #expect(removed.status == 0, "\(node.id): \(removed.stderr)")
        }
        let digestA = try await a.digest(), digestB = try await b.digest()
        #expect(digestA == digestB, "a:\n\(digestA)\nb:\n\(digestB)")
        for node in [a, b] {
            // 6 + 6 `report` originals expired: each node's active segment holds only
            // `keepme` mail, but the two streams interleave on the peer, so check the count
            // of what stays, not that nothing was deferred.
            let listed = try await Archive(node: node, root: workspace.root).subjects()
            #expect(listed.filter { $0.hasPrefix("keepme") }.count == 14)
            #expect(listed.count < 26, "\(node.id) removed nothing")
        }
    }

    /// The archive on a small tmpfs, filled while `archive expire` rewrites: the rewrite
    /// fails (ENOSPC) with nothing lost and nothing half removed, and once there is room the
    /// next run finishes what the first began.
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"), .timeLimit(NodeTestSupport.scaledMinutes(3)))
    func aFullDiskStopsTheRewriteAndTheNextRunFinishesIt() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "full", root: workspace.root)
        try FileManager.default.createDirectory(atPath: node.dataDir, withIntermediateDirectories: true)
        let mount = try await runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", node.dataDir], in: workspace.root)
        try #require(mount.status == 0, "mount failed: \(mount.stderr)")
        defer { _ = umount2(node.dataDir, Int32(MNT_DETACH)) }
        try node.writeConfig(Self.retention
            .replacingOccurrences(of: "segment_max_bytes = 2048", with: "segment_max_bytes = 1048576\nmin_free_bytes = 0")
            .replacingOccurrences(of: "expire_every_seconds = 1", with: "expire_every_seconds = 86400"))
        // Incompressible bodies (random bytes in base64), about 80 KB stored each, in 1 MiB
        // segments.
        var rng = SystemRandomNumberGenerator()
        // 16 `keepme` messages at the end (1.3 MB): the active segment holds nothing expirable.
        let plain = Self.messages("f", count: 20) + ["g", "h", "i"].flatMap { Self.messages($0, count: 0) }
        let sent: [(sender: String, text: String)] = plain.map { message in
            let blob = Data((0..<(60 << 10)).map { _ in UInt8.random(in: 0...255, using: &rng) }).base64EncodedString(options: .lineLength76Characters)
            return (message.sender, message.text.replacingOccurrences(of: "\r\n\r\n", with: "\r\nX-Blob: 1\r\n\r\n" + blob.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n") + "\r\n"))
        }
        // Too large for a command line: smtplib reads them from files.
        var files: [String] = []
        for (i, message) in sent.enumerated() {
            let path = workspace.root + "/big-\(i).eml"
            try message.text.write(toFile: path, atomically: true, encoding: .utf8)
            files += [message.sender, path]
        }
        let script = """
            import smtplib, sys
            with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
                for sender, path in zip(sys.argv[2::2], sys.argv[3::2]):
                    s.sendmail(sender, ["journal@archive.example"], open(path, "rb").read())
            """
        let process = try await node.start(workspace.children)
        let delivered = try await runProcess(NodeTestSupport.python, ["-c", script, "\(node.journalPort)"] + files, in: workspace.root)
        try #require(delivered.status == 0, "smtplib: \(delivered.stderr)")
        await node.stop(process)
        let archive = Archive(node: node, root: workspace.root)

        // The search index caught up first (a search feeds it), then less room left than a
        // segment's rewrite needs.
        let fed = try await archive.run(["search", "--count", "report"])
        try #require(fed.status == 0, "\(fed.stderr)")
        var info = statvfs()
        try #require(statvfs(node.dataDir, &info) == 0)
        let free = Int(info.f_bavail) * Int(info.f_frsize)
        let ballast = node.dataDir + "/ballast"
        try Data(count: max(0, free - (256 << 10))).write(to: URL(fileURLWithPath: ballast))
        let full = try await archive.run(["expire", "--config", node.configPath], environment: Self.skewed)
        #expect(full.status != 0, "expiry on a full disk: \(String(decoding: full.stdout, as: UTF8.self))")
        // Nothing acknowledged is lost meanwhile: every message is still listed. A read must
        // record its audit entry first, and how full the failed run left the disk depends on
        // where it ran out (a read it cannot audit is refused, by design): room for the entry.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: ballast))
        try handle.truncate(atOffset: UInt64(max(0, free - (2 << 20))))
        try handle.close()
        #expect(try await archive.subjects().count == sent.count)

        try FileManager.default.removeItem(atPath: ballast)
        let again = try await archive.run(["expire", "--config", node.configPath], environment: Self.skewed)
        #expect(again.status == 0, "\(again.stderr)")
        try await archive.checkExpired(sent: sent)
    }

    /// Holds and expiry through the admin API: roles enforced (a read token may look, only
    /// admin may hold, release or expire), a hold keeps what it matches from an expiry run
    /// the API starts, `archive expire` on a running node goes through the node, and every
    /// step is in the audit log under its caller.
    @Test(.timeLimit(NodeTestSupport.scaledMinutes(3)))
    func holdsAndExpiryThroughTheAdminAPI() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "api", root: workspace.root)
        var tokens = ""
        var secrets: [String: String] = [:]
        for (name, role) in [("legal", "admin"), ("reader", "read")] {
            let made = try await runProcess(node.binary, ["token", "create", name, "--role", role], in: workspace.root)
            let printed = String(decoding: made.stdout, as: UTF8.self)
            secrets[name] = try #require(printed.split(separator: "\n").first?.split(separator: " ").last.map(String.init), "\(printed)")
            tokens += try #require(printed.range(of: "[[token]]").map { String(printed[$0.lowerBound...]) }) + "\n"
        }
        try tokens.write(toFile: workspace.root + "/tokens.toml", atomically: true, encoding: .utf8)
        try node.writeConfig(Self.retention.replacingOccurrences(of: "expire_every_seconds = 1", with: "expire_every_seconds = 86400"),
                             nodeExtra: "admin_tokens_file = \"\(workspace.root)/tokens.toml\"")
        let process = try await node.start(workspace.children, environment: Self.skewed)
        let sent = Self.messages("api", count: 9)
        try await NodeTestSupport.sendMail(sent, port: node.journalPort, root: workspace.root)

        func call(_ method: String, _ path: String, as token: String) async throws -> (status: Int, body: String) {
            let run = try await runProcess("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "-X", method, "-H", "Authorization: Bearer \(secrets[token] ?? "")",
                                                           "http://127.0.0.1:\(node.adminPort)\(path)"], in: workspace.root)
            let text = String(decoding: run.stdout, as: UTF8.self)
            let status = Int(text.split(separator: "\n").last ?? "") ?? -1
            return (status, String(text.split(separator: "\n").dropLast().joined(separator: "\n")))
        }
        let held = "report api 1"
        let create = "/holds?name=case-7&query=subject:%22report%20api%201%22&reason=SEC%20inquiry"
        #expect(try await call("POST", create, as: "reader").status == 403)
        #expect(try await call("POST", create, as: "legal").status == 201)
        let shown = try await call("GET", "/holds/case-7", as: "reader")
        #expect(shown.status == 200 && shown.body.contains("\"count\":1"), "\(shown)")
        #expect(try await call("POST", "/archive/expire", as: "reader").status == 403)
        #expect(try await call("GET", "/archive/expire", as: "legal").status == 405)
        // Every `report` but the held one: 5 of 6 (each node's active segment holds only
        // `keepme` mail, the four at the end).
        let expired = try await call("POST", "/archive/expire", as: "legal")
        #expect(expired.status == 200 && expired.body.contains("\"removed\":5"), "\(expired)")
        let archive = Archive(node: node, root: workspace.root)
        // By hand while the node runs: the node does it, with nothing left to remove.
        let byHand = try await archive.run(["expire", "--config", node.configPath])
        #expect(String(decoding: byHand.stdout, as: UTF8.self).hasPrefix("removed: 0 originals"), "\(byHand.stderr)")
        #expect(String(decoding: byHand.stdout, as: UTF8.self).contains("by the node at"))
        #expect(try await call("POST", "/holds/case-7/release", as: "legal").status == 200)
        let freed = try await call("POST", "/archive/expire", as: "legal")
        #expect(freed.status == 200 && freed.body.contains("\"removed\":1"), "\(freed)")
        await node.stop(process)

        try await archive.checkExpired(sent: sent)
        #expect(!(try await archive.subjects()).contains(held))
        let log = try String(contentsOfFile: node.dataDir + "/audit/audit.log", encoding: .utf8)
        for expected in ["\"actor\":\"token:legal\",\"action\":\"hold.create\"", "\"actor\":\"token:legal\",\"action\":\"archive.expire\"",
                         "\"actor\":\"token:reader\",\"action\":\"hold.show\"", "\"actor\":\"token:legal\",\"action\":\"hold.release\""] {
            #expect(log.contains(expected), "\(expected) not in the audit log")
        }
    }
}
