import ArchiveStore
import Foundation
import TestSupport
import Testing
@testable import ForwardQueue

/// The delivery client against peers that misbehave (issue 7): down, dripping, resetting
/// mid-DATA, 421 at the greeting, silent after the final dot, answering 250 twice. Every
/// test ends the same way: once a well-behaved peer (`recording_peer.py`) takes over, every
/// entry reaches a peer byte for byte, and no entry ever left the queue without a peer
/// having stored it (checked at every poll, not just at the end).
@Suite(.serialized, .timeLimit(.minutes(5))) struct PeerFaultTests {
    /// A timeout the client must not be waiting on in a test of another one: far longer
    /// than `patience`, so a session it ended shows it was not this one.
    static let unrelatedTimeout = 600.0

    /// Starts the well-behaved peer on `port`, waits for the queue to drain and checks that
    /// every message is stored by `faulty` or the good peer, byte for byte, and nothing else.
    func drainIntoGoodPeer(_ queue: ForwardQueue, _ backlog: Backlog, port: Int, directory: String,
                           faulty: FaultyPeer? = nil) async throws {
        let good = try RecordingPeer(port: port, directory: directory)
        defer { good.stop() }
        try await good.waitReady()
        let stored = { (faulty?.messages() ?? []) + good.messages() }
        let (drained, lost) = try await backlog.drain(queue, stored: stored)
        #expect(drained, "the queue did not drain into the good peer")
        #expect(lost.isEmpty, "entries left the queue without being stored: \(lost.sorted())")
        let all = Set(stored())
        let missing = backlog.messages.indices.filter { !all.contains(backlog.expected($0)) }
        #expect(missing.isEmpty, "messages no peer stored: \(missing)")
        #expect(backlog.foreign(Array(all)) == 0, "a peer stored bytes that differ from the archived message")
        #expect(queue.snapshot().connections.first?.peerState == .up)
    }

    /// 1. Connection refused: entries wait, the peer is probed, then they are delivered.
    @Test func peerDownThenUp() async throws {
        try await withTempDirectory { dir in
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let port = try freePort()
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [.fault(port: port, connections: 2)], archive: store,
                                                    nodeID: "node-a", logger: quietLogger)
            try await whileDelivering(queue) {
                let backlog = try await Backlog.enqueue(5, tag: "down", store: store, queue: queue)
                let (down, lost) = try await backlog.watch(queue, stored: { [] }) {
                    queue.snapshot().connections.first?.lastError?.contains("cannot connect") == true
                }
                #expect(down)
                #expect(lost.isEmpty)
                try await Task.sleep(for: .seconds(1))
                let summary = queue.snapshot().connections.first
                #expect(summary?.peerState == .down)
                #expect(summary?.depth == 5)
                try await drainIntoGoodPeer(queue, backlog, port: port, directory: dir + "/good")
            }
            try await store.close()
        }
    }

    /// 2. A peer that drips its replies a byte every 75 ms: the command timeout (2 s) ends
    /// the session, entries stay queued; a good peer configured in its place gets them.
    /// The session must last the command timeout (from the peer's side: not before), and
    /// end long before the data timeout, set far out.
    @Test func slowPeerTimesOutThenReplacementGetsEverything() async throws {
        try await withTempDirectory { dir in
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let port = try freePort()
            let faulty = try FaultyPeer(port: port, directory: dir + "/faulty", mode: "drip", arguments: ["--drip", "0.075"])
            defer { faulty.stop() }
            try await faulty.waitReady()
            var settings = PeerSettings.fault(port: port)
            settings.commandTimeout = 2
            settings.dataTimeout = Self.unrelatedTimeout
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [settings], archive: store, nodeID: "node-a", logger: quietLogger)
            try await whileDelivering(queue) {
                let backlog = try await Backlog.enqueue(3, tag: "slow", store: store, queue: queue)
                // The peer sees the close before the client records why: wait for both.
                let (closed, lost) = try await backlog.watch(queue, stored: faulty.messages) {
                    faulty.events().contains { $0.name == "close" }
                        && queue.snapshot().connections.first?.lastError?.contains("timed out") == true
                }
                #expect(closed, "the client did not give up on the dripping peer (a timeout)")
                #expect(lost.isEmpty)
                let events = faulty.events().filter { $0.connection == 1 }
                if let open = events.first(where: { $0.name == "connect" }), let close = events.first(where: { $0.name == "close" }) {
                    let held = close.time - open.time
                    print("slow peer: first session abandoned after \(String(format: "%.2f", held)) s (command timeout 2 s)")
                    #expect(held > 1.5 && held < settings.dataTimeout, "session lasted \(held) s, not the 2 s command timeout")
                }
                #expect(queue.snapshot().connections.first?.depth == 3)
                #expect(faulty.messages().isEmpty)

                let goodPort = try freePort()
                settings.port = goodPort
                try queue.configure(peers: [settings])
                try await drainIntoGoodPeer(queue, backlog, port: goodPort, directory: dir + "/good", faulty: faulty)
            }
            try await store.close()
        }
    }

    /// 3. A peer that reads 16 bytes of content and resets the connection: the entry stays
    /// and is attempted again; a good peer on the same port gets everything.
    @Test func resetMidDataKeepsTheEntry() async throws {
        try await withTempDirectory { dir in
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let port = try freePort()
            let faulty = try FaultyPeer(port: port, directory: dir + "/faulty", mode: "reset-mid-data", arguments: ["--reset-after", "16"])
            try await faulty.waitReady()
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [.fault(port: port)], archive: store, nodeID: "node-a", logger: quietLogger)
            try await whileDelivering(queue) {
                let backlog = try await Backlog.enqueue(3, tag: "reset", store: store, queue: queue)
                let (retried, lost) = try await backlog.watch(queue, stored: faulty.messages) {
                    faulty.events().filter { $0.name == "reset" }.count >= 3
                }
                #expect(retried, "the entry was not attempted again after the reset")
                #expect(lost.isEmpty)
                let snapshot = queue.snapshot()
                #expect(snapshot.connections.first?.depth == 3)
                #expect((snapshot.entries.first?.attempts ?? 0) >= 2)
                #expect(snapshot.entries.first?.lastError != nil)
                #expect(faulty.messages().isEmpty)
                await faulty.stopAndWait()
                try await drainIntoGoodPeer(queue, backlog, port: port, directory: dir + "/good")
            }
            try await store.close()
        }
    }

    /// 4. 421 at the greeting from every session: entries stay, and while the peer is down
    /// it is probed once per backoff interval (min = max = 1 s), not in a storm. Checked by
    /// what holds however the machine schedules the sessions: a probe begins only after an
    /// earlier session had its 421 and the backoff passed, so none within 1 s of the first
    /// session (the sessions there are at most one per connection), and probes follow each
    /// other at least 1 s apart: all sessions ≤ `max_connections` + seconds they spanned.
    @Test func greeting421BacksOffOneProbePerInterval() async throws {
        try await withTempDirectory { dir in
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let port = try freePort()
            let faulty = try FaultyPeer(port: port, directory: dir + "/faulty", mode: "greet-421")
            try await faulty.waitReady()
            var settings = PeerSettings.fault(port: port, connections: 4)
            settings.minBackoff = 1
            settings.maxBackoff = 1
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [settings], archive: store, nodeID: "node-a", logger: quietLogger)
            try await whileDelivering(queue) {
                let backlog = try await Backlog.enqueue(4, tag: "421", store: store, queue: queue)
                // Until at least three probes followed the first sessions.
                let sessions = settings.maxConnections + 3
                let (probed, lost) = try await backlog.watch(queue, stored: { [] }) {
                    faulty.events().filter { $0.name == "connect" }.count >= sessions
                }
                #expect(probed, "the down peer was not probed again")
                #expect(lost.isEmpty)
                let connects = faulty.events().filter { $0.name == "connect" }.map(\.time)
                let first = connects.first ?? 0, span = (connects.last ?? 0) - first
                let burst = connects.filter { $0 < first + settings.minBackoff }
                let gaps = zip(connects.dropFirst(burst.count + 1), connects.dropFirst(burst.count)).map { $0 - $1 }
                print("421 peer: \(burst.count) sessions at once, then \(connects.count - burst.count) probes in \(String(format: "%.2f", span)) s, gaps \(gaps.map { String(format: "%.2f", $0) })")
                #expect(burst.count <= settings.maxConnections, "\(burst.count) sessions before a probe could begin")
                #expect(Double(connects.count - settings.maxConnections) <= span / settings.minBackoff,
                        "a probe storm: \(connects.count) sessions in \(span) s")
                let summary = queue.snapshot().connections.first
                #expect(summary?.depth == 4)
                #expect(summary?.peerState == .down)
                #expect(summary?.lastError?.contains("421") == true)
                await faulty.stopAndWait()
                try await drainIntoGoodPeer(queue, backlog, port: port, directory: dir + "/good")
            }
            try await store.close()
        }
    }

    /// 5. A peer that takes the whole message and never answers the final dot: the session
    /// ends after the data timeout (2 s; the command timeout is far out), the entry stays.
    /// The silent peer stores nothing, so each message reaches the good peer.
    @Test func noReplyToTheFinalDotTimesOutOnTheDataTimeout() async throws {
        try await withTempDirectory { dir in
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let port = try freePort()
            let faulty = try FaultyPeer(port: port, directory: dir + "/faulty", mode: "silent-dot")
            try await faulty.waitReady()
            var settings = PeerSettings.fault(port: port)
            settings.commandTimeout = Self.unrelatedTimeout
            settings.dataTimeout = 2
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [settings], archive: store, nodeID: "node-a", logger: quietLogger)
            try await whileDelivering(queue) {
                let backlog = try await Backlog.enqueue(2, tag: "silent", store: store, queue: queue)
                let (closed, lost) = try await backlog.watch(queue, stored: faulty.messages) {
                    faulty.events().contains { $0.connection == 1 && $0.name == "close" }
                        && queue.snapshot().connections.first?.lastError?.contains("timed out") == true
                }
                #expect(closed, "the client did not give up waiting for the reply to the final dot (a timeout)")
                #expect(lost.isEmpty)
                let events = faulty.events().filter { $0.connection == 1 }
                if let dot = events.first(where: { $0.name == "dot" }), let close = events.first(where: { $0.name == "close" }) {
                    let waited = close.time - dot.time
                    print("silent peer: gave up \(String(format: "%.2f", waited)) s after the final dot (data timeout 2 s)")
                    #expect(waited > 1.5 && waited < settings.commandTimeout, "waited \(waited) s, not the 2 s data timeout")
                } else {
                    Issue.record("the silent peer never saw a whole message and its close")
                }
                let snapshot = queue.snapshot()
                #expect(snapshot.connections.first?.depth == 2)
                await faulty.stopAndWait()
                try await drainIntoGoodPeer(queue, backlog, port: port, directory: dir + "/good")
            }
            try await store.close()
        }
    }

    /// A peer that sends a reply answering no command.
    struct ExtraReply: Sendable, CustomStringConvertible {
        var mode: String
        var pipelining: Bool
        var description: String { mode + (pipelining ? " (PIPELINING)" : "") }
    }

    static let extraReplies: [ExtraReply] = [
        ExtraReply(mode: "dot-250-twice", pipelining: false),
        ExtraReply(mode: "dot-250-twice", pipelining: true),
        ExtraReply(mode: "dot-250-late", pipelining: false),
        ExtraReply(mode: "dot-250-late", pipelining: true),
        ExtraReply(mode: "data-354-250", pipelining: false),
        ExtraReply(mode: "data-354-250", pipelining: true),
        ExtraReply(mode: "mail-250-twice", pipelining: false),
        ExtraReply(mode: "mail-250-twice", pipelining: true),
    ]

    /// 6. Replies that answer no command (RFC 5321 §4.2: a reply the client did not ask
    /// for is a protocol error). The client must close that session and retry, never take
    /// a stale 250 as the answer to a later command: the peer answers 451 to every final
    /// dot but its one genuine 250, so a message marked delivered on a stale 250 is lost.
    /// No session may carry message content after an unsolicited reply.
    @Test(arguments: extraReplies)
    func unsolicitedReplyClosesTheSession(_ fault: ExtraReply) async throws {
        try await withTempDirectory { dir in
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let port = try freePort()
            let faulty = try FaultyPeer(port: port, directory: dir + "/faulty", mode: fault.mode, arguments: fault.pipelining ? ["--pipelining"] : [])
            try await faulty.waitReady()
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [.fault(port: port)], archive: store, nodeID: "node-a", logger: quietLogger)
            try await whileDelivering(queue) {
                let backlog = try await Backlog.enqueue(4, tag: "twice", store: store, queue: queue)
                let (settled, lost) = try await backlog.watch(queue, stored: faulty.messages) {
                    let hit = Set(faulty.events().filter { $0.name == "unsolicited" }.map(\.connection))
                    return hit.count >= 3 || queue.snapshot().connections.first?.depth == 0
                }
                #expect(settled, "neither three sessions with an unsolicited reply nor every entry delivered")
                #expect(lost.isEmpty, "entries marked delivered on a stale reply: \(lost.sorted())")
                #expect(faulty.contentAfterUnsolicitedReply().isEmpty, "a session went on sending messages after an unsolicited reply")
                let lastError = queue.snapshot().connections.first?.lastError ?? "no error"
                #expect(lastError.contains("unexpected reply"), "the protocol error was not detected: \(lastError)")
                let sessions = Set(faulty.events().map(\.connection)).count
                print("\(fault): \(sessions) sessions, \(faulty.messages().count) of 4 stored by the faulty peer; last error: \(lastError)")
                await faulty.stopAndWait()
                try await drainIntoGoodPeer(queue, backlog, port: port, directory: dir + "/good", faulty: faulty)
            }
            try await store.close()
        }
    }
}
