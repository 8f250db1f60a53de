import Crypto
import Foundation
import TestMoto
import TestSupport
import Testing

/// A node with `[archive.remote]` against moto (Tests/Support/TestMoto), checked with boto3:
/// sealed segments reach the bucket byte for byte, an endpoint that is down never costs a
/// 250 and is caught up on when it is back, and credentials the bucket refuses are named
/// in the log while nothing is recorded as uploaded.
@Suite(.timeLimit(NodeTestSupport.scaledMinutes(4)))
struct RemoteTierNodeTests {
    struct Listed: Decodable {
        let key: String
        let size: Int
        let sha256: String
    }

    /// About 4 KiB of hex that zstd cannot shrink below 2 KiB: each message fills a segment.
    static func message(_ n: Int) -> String {
        let body = (0..<64).map { line in SHA256.hash(data: Array("tier \(n) \(line)".utf8)).map { String(format: "%02x", $0) }.joined() }
        return "Subject: tier \(n)\r\nMessage-ID: <tier-\(n)@example.test>\r\n\r\n" + body.joined(separator: "\r\n") + "\r\n"
    }

    /// A node whose segments seal after 2 KiB and that looks for uploads every second.
    static func configure(_ node: ChainNode, endpoint: String, bucket: String, extra: String = "") throws {
        try node.writeConfig("""
            [archive]
            segment_max_bytes = 2048

            [archive.remote]
            endpoint = "\(endpoint)"
            region = "us-east-1"
            bucket = "\(bucket)"
            upload_every_seconds = 1
            \(extra)
            """)
    }

    /// Name → SHA-256 (hex) of the sealed segments, which are every `.seg` but the newest.
    static func sealedSegments(_ node: ChainNode) -> [String: String] {
        let archive = node.dataDir + "/archive"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: archive)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
        var result: [String: String] = [:]
        for name in names.dropLast() {
            result[name] = SHA256.hash(data: readFile(archive + "/" + name)).map { String(format: "%02x", $0) }.joined()
        }
        return result
    }

    @Test func sealedSegmentsReachTheBucketAndCatchUpAfterAnOutage() async throws {
        let moto = try await MotoServer.shared()
        let bucket = try await moto.makeBucket("tier-node")
        let gate = try await MotoGate.start(inFrontOf: moto)  // closed: the endpoint is down
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "tier", root: workspace.root)
        try Self.configure(node, endpoint: gate.endpoint, bucket: bucket)
        let credentials = ["AWS_ACCESS_KEY_ID": moto.accessKey, "AWS_SECRET_ACCESS_KEY": moto.secretKey]
        let process = try await node.start(workspace.children, environment: credentials)

        // Mail is accepted (sendMail throws on anything but 250) while no upload can succeed.
        try await NodeTestSupport.sendMail((1...6).map { ("a@example.test", Self.message($0)) }, port: node.journalPort, root: workspace.root)
        #expect(try await eventually { try await node.metric("archive_remote_upload_failures_total{kind=\"transport\"}") >= 2 },
                "log:\n\(NodeTestSupport.tail(node.log))")
        #expect(try await node.metric("archive_remote_pending_segments") >= 1)
        #expect(NodeTestSupport.tail(node.log, bytes: 50_000).contains("cannot reach the object store"))
        let ready = try await runProcess(NodeTestSupport.python, ["-c", "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).status)",
                                                                  "http://127.0.0.1:\(node.adminPort)/readyz"], in: workspace.root)
        #expect(String(decoding: ready.stdout, as: UTF8.self).hasPrefix("200"), "readyz while uploads fail: \(ready.stderr)")
        let remote = try await moto.oracle([Listed].self, "list", bucket)
        #expect(remote.isEmpty)

        // A hold: an audit entry (and its head), and the holds database, to go with the segments.
        let hold = try await runProcess(node.binary, ["archive", "hold", "create", "case-7", "--query", "tier", "--reason", "inquiry 7",
                                                      "--data-dir", node.dataDir], in: workspace.root)
        #expect(hold.status == 0, "\(hold.stderr)")

        // Back: every sealed segment is uploaded within the backoff's reach, byte for byte.
        try await gate.open()
        try await NodeTestSupport.sendMail([("b@example.test", Self.message(7))], port: node.journalPort, root: workspace.root)
        #expect(try await eventually(within: 4 * patience) {
            let sealed = Self.sealedSegments(node)
            let listed = try await moto.oracle([Listed].self, "list", bucket, "tier/segments/")
            let uploaded = Dictionary(listed.map { (String($0.key.dropFirst("tier/segments/".count)), $0.sha256) }, uniquingKeysWith: { a, _ in a })
            return !sealed.isEmpty && sealed.allSatisfy { uploaded[$0.key] == $0.value }
        }, "log:\n\(NodeTestSupport.tail(node.log))")
        #expect(try await eventually { try await node.metric("archive_remote_pending_segments") == 0 })
        #expect(try await node.metric("archive_remote_last_upload_timestamp_seconds") > 0)
        #expect(try await eventually { NodeTestSupport.tail(node.log, bytes: 100_000).contains("uploads to the bucket caught up") })
        #expect(try await eventually { try await moto.oracle([Listed].self, "list", bucket, "tier/holds/").count == 1 })
        // The audit trail and its anchor go too, and a copy of the holds that names the hold.
        let listed = try await moto.oracle([Listed].self, "list", bucket, "tier/")
        let audit = try #require(listed.first { $0.key == "tier/audit/audit.log" }, "\(listed.map(\.key))")
        #expect(audit.sha256 == SHA256.hash(data: readFile(node.dataDir + "/audit/audit.log")).map { String(format: "%02x", $0) }.joined())
        #expect(listed.contains { $0.key == "tier/audit/audit.head" })
        let holds = try await moto.oracle(String.self, "get", bucket, "tier/holds/holds.sqlite")
        let copy = workspace.root + "/holds-copy.sqlite"
        #expect(FileManager.default.createFile(atPath: copy, contents: Data(hex: holds)))
        let names = try await runProcess(NodeTestSupport.python, ["-c", """
            import sqlite3, sys
            print([row[0] for row in sqlite3.connect(sys.argv[1]).execute("SELECT name FROM holds WHERE released_at IS NULL")])
            """, copy], in: workspace.root)
        #expect(String(decoding: names.stdout, as: UTF8.self) == "['case-7']\n", "\(names.stderr)")
        await node.stop(process)
    }

    struct Head: Decodable {
        let size: Int
        let version: String?
        let mode: String?
        let until: Int?
        let legal_hold: String?
    }

    struct Version: Decodable {
        let key: String
        let version: String
    }

    /// Mail from two senders under two rules (30 days, 400 days) and a hold on one subject:
    /// each segment object in the bucket is locked in compliance mode until the end of the
    /// retention of the mail in it, carries the legal-hold flag exactly when it holds the
    /// held message, and moto refuses to delete a locked version.
    @Test func segmentObjectsAreLockedAsTheirMailIsKept() async throws {
        let moto = try await MotoServer.shared()
        let bucket = try await moto.makeBucket("tier-lock")
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "lock", root: workspace.root)
        let retention = """

            [retention]
            default = "30d"

            [[retention.rule]]
            name = "finance"
            keep = "400d"
            senders = ["@finance.example"]
            """
        // First without the tier: the mail and the hold are there when it starts.
        try node.writeConfig("[archive]\nsegment_max_bytes = 2048\n" + retention)
        let first = try await node.start(workspace.children)
        // The fourth stays in the active segment, which is not uploaded.
        let mail = [("a@example.test", Self.message(1)), ("b@finance.example", Self.message(2)), ("c@example.test", Self.message(3)),
                    ("d@example.test", Self.message(4))]
        try await NodeTestSupport.sendMail(mail, port: node.journalPort, root: workspace.root)
        await node.stop(first)
        let sent = Date()
        let hold = try await runProcess(node.binary, ["archive", "hold", "create", "case-3", "--query", "subject:\"tier 3\"",
                                                      "--reason", "inquiry", "--data-dir", node.dataDir], in: workspace.root)
        try #require(hold.status == 0, "\(hold.stderr)")

        try Self.configure(node, endpoint: moto.endpoint, bucket: bucket, extra: "object_lock = \"compliance\"\n" + retention)
        let credentials = ["AWS_ACCESS_KEY_ID": moto.accessKey, "AWS_SECRET_ACCESS_KEY": moto.secretKey]
        let process = try await node.start(workspace.children, environment: credentials)
        defer { Task { await node.stop(process) } }
        // Segments 1-3 hold one message each, in the order sent.
        let keys = (1...3).map { String(format: "lock/segments/%08d.seg", $0) }
        var heads: [Head] = []
        #expect(try await eventually(within: 2 * patience) {
            heads = []
            for key in keys {
                guard let head = try? await moto.oracle(Head.self, "head", bucket, key) else { return false }
                heads.append(head)
            }
            return heads.allSatisfy { $0.mode == "COMPLIANCE" } && heads[2].legal_hold == "ON"
        }, "\(heads)\nlog:\n\(NodeTestSupport.tail(node.log))")
        let days: [Double] = [30, 400, 30]
        for (head, keep) in zip(heads, days) {
            let until = Double(try #require(head.until))
            // Kept exactly as long as its mail (from its arrival, which was before `sent`).
            #expect(until <= sent.timeIntervalSince1970 + keep * 86_400 + 1, "\(head)")
            #expect(until >= sent.timeIntervalSince1970 + keep * 86_400 - 600, "\(head)")
        }
        #expect(heads[0].legal_hold != "ON" && heads[1].legal_hold != "ON")
        let versions = try await moto.oracle([Version].self, "versions", bucket)
        let locked = try #require(versions.first { $0.key == keys[0] })
        #expect(try await moto.oracle(String.self, "delete", bucket, locked.key, locked.version) == "AccessDenied")
    }

    /// With `local_max_bytes` below the archive's size the node replaces its oldest uploaded
    /// segments by stubs; the archive commands given the configuration, and the node after a
    /// restart, read every message from the bucket as it was sent.
    @Test func segmentsBeyondTheLocalBudgetAreEvictedAndReadFromTheBucket() async throws {
        let moto = try await MotoServer.shared()
        let bucket = try await moto.makeBucket("tier-evict")
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "evict", root: workspace.root)
        try Self.configure(node, endpoint: moto.endpoint, bucket: bucket, extra: "local_max_bytes = 8192")
        let credentials = ["AWS_ACCESS_KEY_ID": moto.accessKey, "AWS_SECRET_ACCESS_KEY": moto.secretKey]
        var process = try await node.start(workspace.children, environment: credentials)
        let sent = (1...8).map { Self.message($0) }
        try await NodeTestSupport.sendMail(sent.map { ("a@example.test", $0) }, port: node.journalPort, root: workspace.root)
        func stubs() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: node.dataDir + "/archive")) ?? []).filter { $0.hasSuffix(".seg.remote") }
        }
        #expect(try await eventually(within: 2 * patience) { stubs().count >= 5 }, "log:\n\(NodeTestSupport.tail(node.log))")
        #expect(try await node.metric("archive_remote_evicted_segments_total") >= 5)
        // The stubs' segments are gone from the disk, and what stays local fits the budget but
        // for the active segment and the newest sealed one (never evicted).
        for stub in stubs() { #expect(!FileManager.default.fileExists(atPath: node.dataDir + "/archive/" + stub.dropLast(".remote".count))) }
        await node.stop(process)

        let config = ["--config", node.configPath]
        let list = try await runProcess(node.binary, ["archive", "list", "--json"] + config, in: workspace.root, environment: credentials)
        let ids = String(decoding: list.stdout, as: UTF8.self).split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        }
        #expect(ids.count == sent.count, "\(list.stderr)")
        func getAll() async throws -> Set<[UInt8]> {
            var got: Set<[UInt8]> = []
            for id in ids {
                let run = try await runProcess(node.binary, ["archive", "get", id] + config, in: workspace.root, environment: credentials)
                #expect(run.status == 0, "\(run.stderr)")
                got.insert(run.stdout)
            }
            return got
        }
        #expect(try await getAll() == Set(sent.map { Array($0.utf8) }))
        let verify = try await runProcess(node.binary, ["archive", "verify"] + config, in: workspace.root, environment: credentials)
        #expect(verify.status == 0, "\(String(decoding: verify.stdout, as: UTF8.self) + verify.stderr)")
        // Without the bucket's configuration an evicted message is a clear error, not garbage.
        let oldest = try #require(ids.first)
        let first = try await runProcess(node.binary, ["archive", "get", "--data-dir", node.dataDir, oldest], in: workspace.root)
        #expect(first.status != 0 && first.stderr.contains("[archive.remote]"), "\(first.stderr)")
        // The node opens over its stubs and serves them (its search finds the evicted mail).
        process = try await node.start(workspace.children, environment: credentials)
        let search = try await runProcess(node.binary, ["archive", "search", "subject:tier"] + config, in: workspace.root, environment: credentials)
        #expect(String(decoding: search.stdout, as: UTF8.self).split(separator: "\n").filter { $0.contains("tier-") }.count == sent.count,
                "\(String(decoding: search.stdout, as: UTF8.self) + search.stderr)")
        await node.stop(process)
    }

    @Test func credentialsTheBucketRefusesAreNamedAndNothingIsRecorded() async throws {
        let moto = try await MotoServer.shared()
        let bucket = try await moto.makeBucket("tier-creds")
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "creds", root: workspace.root)
        try Self.configure(node, endpoint: moto.endpoint, bucket: bucket, extra: "local_max_bytes = 1")
        let wrong = ["AWS_ACCESS_KEY_ID": moto.accessKey, "AWS_SECRET_ACCESS_KEY": String(moto.secretKey.reversed())]
        let process = try await node.start(workspace.children, environment: wrong)
        try await NodeTestSupport.sendMail((1...4).map { ("a@example.test", Self.message($0)) }, port: node.journalPort, root: workspace.root)
        #expect(try await eventually { try await node.metric("archive_remote_upload_failures_total{kind=\"refused\"}") >= 1 },
                "log:\n\(NodeTestSupport.tail(node.log))")
        #expect(NodeTestSupport.tail(node.log, bytes: 50_000).contains("SignatureDoesNotMatch"))
        await node.stop(process)
        // Nothing recorded as uploaded, nothing in the bucket, every segment still on disk.
        let recorded = try await runProcess(NodeTestSupport.python, ["-c", """
            import sqlite3, sys
            print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM objects").fetchone()[0])
            """, node.dataDir + "/remote/remote.sqlite"], in: workspace.root)
        #expect(String(decoding: recorded.stdout, as: UTF8.self) == "0\n", "\(recorded.stderr)")
        #expect(try await moto.oracle([Listed].self, "list", bucket).isEmpty)
        #expect(Self.sealedSegments(node).count >= 1)
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: node.dataDir + "/archive")) ?? []).contains { $0.hasSuffix(".remote") })
    }
}

extension Data {
    /// The bytes of a hex string (the oracle's `get`); stops at the first pair that is not hex.
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex),
              let byte = UInt8(hex[index..<next], radix: 16) {
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
