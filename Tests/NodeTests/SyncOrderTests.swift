import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The invariant seen from outside the process (issue 22, finding 14). A SIGKILL keeps
/// the page cache, so no crash test notices a missing sync; here the real binary runs
/// under `strace -f` (Debian's strace, in the Makefile's TEST_PACKAGES) and the trace must
/// show, before every 250 to a final dot, the syncs that make its message durable
/// (`SyncOrder`): the record's segment fdatasynced, a new segment's name (and every other
/// new name in the data directory) fsynced in its folder, and for a copy no archive record
/// promises, the spool file, its folder and the journal entries synced.
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(5)))
struct SyncOrderTests {
    /// The calls the checks read; nothing else is traced, to keep the trace small. A
    /// regular expression, so that a name the architecture lacks (aarch64 has no mkdir or
    /// rename) is no error.
    static let traced = "/^(openat|mkdirat?|renameat2?|rename|pwrite64|write|writev|sendmsg|sendto|fsync|fdatasync)$"
    /// Journal frames (spool file names, references) must be printed whole: 64 KiB is
    /// far more than a batch of them, and strace cuts every string there.
    static let printedBytes = 65536
    /// Small segments, so that the archived messages fill several and the trace has
    /// rotations and new segment files in it.
    static let segmentBytes = 8192

    @Test func everyReplyFollowsTheSyncsItNeeds() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        // The paths strace prints are resolved; so are the ones the node is given.
        let root = URL(fileURLWithPath: workspace.root).resolvingSymlinksInPath().path
        let node = try ChainNode(id: "traced", root: root)
        let spoolPort = try freePort(), peerPort = try freePort()
        try node.writeConfig("""
        [[listener]]
        name = "spool"
        address = "127.0.0.1:\(spoolPort)"

        [archive]
        segment_max_bytes = \(Self.segmentBytes)

        \(node.connection(name: "peer", port: peerPort))
        [[route]]
        name = "journal"
        listeners = ["journal"]
        forward = ["peer"]

        [[route]]
        name = "ha"
        listeners = ["ha"]

        [[route]]
        name = "spool"
        listeners = ["spool"]
        archive = false
        forward = ["peer"]
        """)
        let trace = root + "/strace.txt"
        let strace = try workspace.children.launch("/usr/bin/strace", [
            "-f", "-qq", "-y", "-xx", "-s", "\(Self.printedBytes)", "-e", "trace=\(Self.traced)", "-o", trace,
            "--", node.binary, "serve", "--config", node.configPath,
        ], log: node.log)
        try await NodeTestSupport.waitUntilListening(strace, ports: [node.journalPort, node.haPort, spoolPort], log: node.log, seconds: 120)

        // Archived and promised to the peer (nothing listens there: the copies stay queued).
        let archived = root + "/archived"
        try FileManager.default.createDirectory(atPath: archived, withIntermediateDirectories: true)
        let corpus = try FileManager.default.contentsOfDirectory(atPath: NodeTestSupport.corpus).filter { $0.hasPrefix("nice_") }.sorted()
        for file in corpus.prefix(10) {
            let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: NodeTestSupport.corpus + "/" + file)))
            try Data(NodeTests.canonical(raw)).write(to: URL(fileURLWithPath: archived + "/" + file))
        }
        let sent = try await runProcess(NodeTestSupport.python, [NodeTestSupport.clientScript, "send", "\(node.journalPort)", archived, root + "/sent.txt"], in: root)
        try #require(sent.status == 0, "\(String(decoding: sent.stdout, as: UTF8.self)) \(sent.stderr)")
        // Archived only, then again where it is forwarded: a duplicate, queued through the journal.
        let duplicate = try ChainTests.message(root, "duplicate")
        #expect(try await ChainNode.send(duplicate, port: node.haPort, root: root).code == 250)
        #expect(try await ChainNode.send(duplicate, port: node.journalPort, root: root).code == 250)
        // Forwarded, not archived: spooled.
        for n in 0..<2 { #expect(try await ChainNode.send(try ChainTests.message(root, "spooled-\(n)"), port: spoolPort, root: root).code == 250) }

        try await Self.stop(strace, log: node.log)
        let listed = try await NodeTestSupport.archiveList(binary: node.binary, dataDir: node.dataDir, scratch: root)
        let order = SyncOrder(calls: SyscallTrace.parse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: trace)), as: UTF8.self)),
                              dataDirectory: node.dataDir, listed: listed)
        let replies = order.replies
        #expect(replies.count == 14, "\(replies.count) replies 250 to a final dot in the trace, 14 sent")
        #expect(Set(replies.map(\.id)).count == 13 && listed.count == 11, "\(listed.count) archived")
        #expect(Set(listed.values.map(\.segment)).count >= 3, "no segment rotation in the trace")
        let violations = order.violations()
        #expect(violations.isEmpty, "\(violations.count) orders broken:\n\(violations.prefix(20).joined(separator: "\n"))")
    }

    /// SIGTERM to the node (strace's child) and wait for strace, which ends with it.
    static func stop(_ strace: Process, log: String) async throws {
        let pid = strace.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        let node = try #require(children.split(separator: " ").first.flatMap { pid_t($0) }, "strace has no child: \(NodeTestSupport.tail(log))")
        kill(node, SIGTERM)
        if await !strace.waitForExit(timeout: .seconds(60)) {
            Issue.record("the traced node did not stop within 60 s of SIGTERM: \(NodeTestSupport.tail(log))")
        }
    }
}
