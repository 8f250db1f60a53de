import Foundation
import TestSupport
import Testing

/// Issue 22, finding 4: every message in flight held its compressed record in memory
/// until its commit, so concurrent incompressible messages held about their total size
/// (10 sessions of 50 MB random BDAT: 617 MiB, 1,099 MiB at the peak). A node with a
/// small `[archive] inflight_max_bytes` must keep its record memory under it, spill the
/// rest, and store every acknowledged message intact.
@Suite(.serialized) struct InflightMemoryTests {
    /// Each session sends a first BDAT chunk of random bytes and waits for its 250 (the
    /// chunk is then in the session's draft); once every session has had it, all send
    /// their last chunk. So all drafts hold their first chunk at once, whatever the speed
    /// of the machine. Prints the SHA-256 of every message that got 250, one per line.
    static let client = #"""
    import hashlib, os, socket, sys, threading
    port, sessions, first, last = (int(a) for a in sys.argv[1:5])
    barrier = threading.Barrier(sessions, timeout=300)
    accepted = []
    def reply(f):
        while True:
            line = f.readline()
            if line[3:4] != b"-": return line
    def session(i):
        c = socket.create_connection(("127.0.0.1", port)); f = c.makefile("rb")
        reply(f)
        for command in (b"EHLO memory.test\r\n", b"MAIL FROM:<a@example.com>\r\n", b"RCPT TO:<journal@archive.example>\r\n"):
            c.sendall(command); assert reply(f).startswith(b"250"), command
        message = b"Subject: random %d\r\n\r\n" % i + os.urandom(first + last)
        head, tail = message[:first], message[first:]
        c.sendall(b"BDAT %d\r\n" % len(head) + head); assert reply(f).startswith(b"250")
        barrier.wait()
        c.sendall(b"BDAT %d LAST\r\n" % len(tail) + tail)
        if reply(f).startswith(b"250"): accepted.append(hashlib.sha256(message).hexdigest())
        c.sendall(b"QUIT\r\n"); reply(f); c.close()
    threads = [threading.Thread(target=session, args=(i,)) for i in range(sessions)]
    for t in threads: t.start()
    for t in threads: t.join()
    print("\n".join(accepted))
    """#

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(3)))
    func concurrentRandomMessagesStayWithinTheBudget() async throws {
        let sessions = 8, first = 1_500_000, last = 500_000
        let budget = 4 << 20
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "memory", root: workspace.root)
        try node.writeConfig("""
            [archive]
            inflight_max_bytes = \(budget)
            """)
        let process = try await node.start(workspace.children)

        let sent = try await runProcess(NodeTestSupport.python, ["-c", Self.client, "\(node.journalPort)", "\(sessions)", "\(first)", "\(last)"],
                                                 in: workspace.root)
        try #require(sent.status == 0, "client: \(sent.stderr)\nlog:\n\(NodeTestSupport.tail(node.log))")
        let accepted = String(decoding: sent.stdout, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        #expect(accepted.count == sessions, "not every session got 250:\n\(NodeTestSupport.tail(node.log))")

        let peak = try await node.metric("archive_inflight_peak_bytes ")
        #expect(peak > 0 && peak <= Double(budget), "record memory peaked at \(peak) bytes with a budget of \(budget)")
        #expect(try await node.metric("archive_draft_spills_total ") > 0, "nothing spilled: the sessions never reached the budget")
        let settled = try await eventually(within: 20) {
            let held = try await node.metric("archive_inflight_bytes "), spilled = try await node.metric("archive_inflight_spilled_bytes ")
            return held == 0 && spilled == 0
        }
        #expect(settled, "memory or spill files still held after every reply")

        let archived = try await node.archivedDigests()
        #expect(Set(archived.keys) == Set(accepted), "archived digests differ from the acknowledged messages")
        let verify = try await runProcess(node.binary, ["archive", "verify", "--data-dir", node.dataDir], in: workspace.root)
        #expect(verify.status == 0, "archive verify: \(String(decoding: verify.stdout, as: UTF8.self)) \(verify.stderr)")
        await node.stop(process)
    }
}
