import ArchiveStore
import Foundation
import Synchronization
import TestSupport
import Testing
@testable import ForwardQueue

/// Delivery to real SMTP servers on 127.0.0.1: aiosmtpd (recording every message) and
/// Postfix's smtp-sink. Each server stops by itself.
@Suite(.serialized, .timeLimit(.minutes(15))) struct LiveDeliveryTests {
    /// Seconds a backlog of 10,000 may take to drain: a minute or less on an idle machine,
    /// several times that with the whole suite sharing two cores. Below the time limit.
    static let drainPatience = 600

    func settings(port: Int, connections: Int) -> PeerSettings {
        var s = PeerSettings(name: "peer-a", host: "127.0.0.1", port: port)
        s.tls = .none
        s.maxConnections = connections
        s.minBackoff = 0.3
        s.maxBackoff = 0.6
        s.connectTimeout = 2
        s.commandTimeout = 20
        return s
    }

    func expectedBytes(_ n: Int, _ original: [UInt8]) -> [UInt8] { Array("X-Archiverelay-Trace: test \(n)\r\n".utf8) + original }

    /// The peer is down while 10,000 messages are queued, then comes up: all arrive, once
    /// each, byte for byte, in FIFO order (one connection), with few probes while down.
    @Test func backlogDrainsInOrderAfterThePeerComesUp() async throws {
        try await withTempDirectory { dir in
            let count = 10_000
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let messages = try await Live.archive(store, count: count, tag: "fifo")
            let port = try freePort()
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [settings(port: port, connections: 1)],
                                                    archive: store, nodeID: "node-a", logger: quietLogger)
            let peerDir = dir + "/peer"
            try await whileDelivering(queue) {
                for start in stride(from: 0, to: count, by: 500) {
                    let items = (start..<min(count, start + 500)).map { n in
                        QueueItem(connection: "peer-a", reference: messages[n].0, size: UInt64(messages[n].1.count),
                                  sender: "journal@example.test", recipients: ["audit@example.test"],
                                  prefix: Array("X-Archiverelay-Trace: test \(n)\r\n".utf8))
                    }
                    try await queue.enqueue(items)
                }
                #expect(try await eventually { queue.snapshot().connections.first?.peerState == .down })
                let down = queue.snapshot().connections.first
                #expect(down?.peerState == .down)
                #expect(down?.depth == count)
                #expect(down?.lastError?.contains("cannot connect") == true)
                let peer = try RecordingPeer(port: port, directory: peerDir)
                defer { peer.stop() }
                try await peer.waitReady()
                let drained = try await eventually(within: Self.drainPatience) { queue.snapshot().connections.first?.depth == 0 }
                #expect(drained)
                let received = peer.messages()
                #expect(received.count == count)
                let expected = messages.enumerated().map { expectedBytes($0.offset, $0.element.1) }
                #expect(received == expected, "arrival order or bytes differ")
                #expect(queue.snapshot().connections.first?.peerState == .up)
            }
            try await store.close()
            #expect(try ForwardQueue.readSnapshot(dataDirectory: dir).entries.isEmpty)
        }
    }

    /// Four connections: every message exactly once; 5xx to hold, 4xx retried then held
    /// when retries run out; a spooled (not archived) message is delivered and its spool
    /// file removed.
    @Test func parallelDeliveryRejectionsAndSpool() async throws {
        try await withTempDirectory { dir in
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let messages = try await Live.archive(store, count: 400, tag: "par")
            let port = try freePort()
            let peer = try RecordingPeer(port: port, directory: dir + "/peer")
            defer { peer.stop() }
            try await peer.waitReady()
            var peerSettings = settings(port: port, connections: 4)
            peerSettings.maxRetries = 2
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [peerSettings], archive: store, nodeID: "node-a", logger: quietLogger)
            var draft = try store.makeDraft(envelope: ArchiveEnvelope(receivedAt: Date(), listener: "l", clientAddress: "c", helo: "h", tls: nil,
                                                                       sender: "s@example.test", recipients: ["r@example.test"]))
            let spooledBytes = Array("Subject: spooled\r\n\r\nnot archived\r\n".utf8)
            try draft.append(bytes: spooledBytes)
            let spooled = try await queue.spool(try draft.finish())
            try await whileDelivering(queue) {
                var items = messages.enumerated().map { n, m in
                    QueueItem(connection: "peer-a", reference: m.0, size: UInt64(m.1.count), sender: "journal@example.test",
                              recipients: ["audit@example.test"], prefix: Array("X-Archiverelay-Trace: test \(n)\r\n".utf8))
                }
                items.append(QueueItem(connection: "peer-a", reference: messages[0].0, size: 10, sender: "s@example.test", recipients: ["reject@example.test"]))
                items.append(QueueItem(connection: "peer-a", reference: messages[1].0, size: 10, sender: "s@example.test", recipients: ["later@example.test"]))
                items.append(QueueItem(connection: "peer-a", reference: spooled, size: UInt64(spooledBytes.count), sender: "s@example.test", recipients: ["r@example.test"]))
                let ids = try await queue.enqueue(items)
                let settled = try await eventually {
                    let s = queue.snapshot().connections.first
                    return s?.depth == 2 && s?.held == 2
                }
                #expect(settled)
                let held = queue.snapshot().entries
                #expect(held.map(\.id) == [ids[400], ids[401]])
                #expect(held.first?.lastError?.contains("550 5.1.1") == true)
                #expect(held.last?.lastError?.contains("retries exhausted (3 attempts)") == true)
                let received = peer.messages()
                #expect(received.count == 401)
                var expected = Set(messages.enumerated().map { expectedBytes($0.offset, $0.element.1) })
                expected.insert(spooledBytes)
                #expect(Set(received) == expected)
                if case .spool(let name) = spooled {
                    #expect(try await eventually { !FileManager.default.fileExists(atPath: queue.layout.spoolDirectory + "/" + name) })
                }
            }
            try await store.close()
        }
    }

    /// A copy queued with its message in memory is delivered from there: its spool file
    /// does not exist, yet the peer gets it byte for byte. With the memory budget at 0 the
    /// same entry can only be read from disk, and is held as unreadable.
    @Test(arguments: [true, false])
    func recentCopiesAreDeliveredFromMemory(inMemory: Bool) async throws {
        try await withTempDirectory { dir in
            let port = try freePort()
            let peer = try RecordingPeer(port: port, directory: dir + "/peer")
            defer { peer.stop() }
            try await peer.waitReady()
            var options = ForwardQueueOptions()
            options.recentMessageBudget = inMemory ? 1 << 20 : 0
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [settings(port: port, connections: 1)], archive: nil,
                                                    nodeID: "node-a", options: options, logger: quietLogger)
            let attachment = Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).base64EncodedString(options: .lineLength76Characters)
            let bytes = Array("Subject: in memory\r\nContent-Transfer-Encoding: base64\r\n\r\n\(attachment)\r\n".utf8)
            var draft = try MessageDraft(envelope: ArchiveEnvelope(receivedAt: Date(), listener: "l", clientAddress: "c", helo: "h", tls: nil,
                                                                   sender: "s@example.test", recipients: ["r@example.test"]))
            try draft.append(bytes: bytes)
            let message = try draft.finish()
            let item = QueueItem(connection: "peer-a", reference: .spool("missing.rec"), size: UInt64(bytes.count),
                                 sender: "s@example.test", recipients: ["r@example.test"])
            try await whileDelivering(queue) {
                try await queue.enqueue([item], message: message)
                if inMemory {
                    #expect(try await eventually { peer.messages().count == 1 })
                    #expect(peer.messages() == [bytes])
                    #expect(try await eventually { queue.recent.count == 0 }, "forgotten after the 250")
                } else {
                    #expect(try await eventually { queue.snapshot().connections.first?.held == 1 })
                    #expect(peer.messages().isEmpty)
                }
            }
        }
    }

    /// A peer that greets with this node's id is never delivered to.
    @Test func loopGuardKeepsMessagesQueued() async throws {
        try await withTempDirectory { dir in
            let port = try freePort()
            let peer = try RecordingPeer(port: port, directory: dir + "/peer", name: "node-a")
            defer { peer.stop() }
            try await peer.waitReady()
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let messages = try await Live.archive(store, count: 3, tag: "loop")
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [settings(port: port, connections: 2)], archive: store, nodeID: "node-a", logger: quietLogger)
            try await whileDelivering(queue) {
                try await queue.enqueue(messages.map { QueueItem(connection: "peer-a", reference: $0.0, size: 10, sender: "s@example.test", recipients: ["r@example.test"]) })
                #expect(try await eventually { queue.snapshot().connections.first?.lastError?.contains("forwarding loop") == true })
                #expect(queue.snapshot().connections.first?.depth == 3)
                #expect(peer.messages().isEmpty)
            }
            try await store.close()
        }
    }

    /// Postfix's smtp-sink (PIPELINING): 10,000 messages queued while it is down, then
    /// drained over 4 connections once it is up; every entry is dispatched once, in FIFO order.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/smtp-sink")))
    func backlogDrainsIntoPostfixSmtpSinkOverFourConnections() async throws {
        try await withTempDirectory { dir in
            let count = 10_000
            let port = try freePort()
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let messages = try await Live.archive(store, count: count, tag: "sink")
            let dispatched = Mutex<[UInt64]>([])
            var options = ForwardQueueOptions()
            options.dispatchObserver = { _, entry in
                if entry.attempts == 0 { dispatched.withLock { $0.append(entry.id) } }
            }
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [settings(port: port, connections: 4)], archive: store,
                                                    nodeID: "node-a", options: options, logger: quietLogger)
            try await whileDelivering(queue) {
                var ids: [UInt64] = []
                for start in stride(from: 0, to: count, by: 1000) {
                    ids += try await queue.enqueue(messages[start..<min(count, start + 1000)].map {
                        QueueItem(connection: "peer-a", reference: $0.0, size: UInt64($0.1.count), sender: "s@example.test", recipients: ["r@example.test"])
                    })
                }
                #expect(try await eventually { queue.snapshot().connections.first?.peerState == .down })
                let sink = try SinkPeer(port: port)
                defer { sink.stop() }
                #expect(try await sink.waitReady(port: port))
                let started = Date()
                #expect(try await eventually(within: Self.drainPatience) { queue.snapshot().connections.first?.depth == 0 })
                let seconds = Date().timeIntervalSince(started)
                #expect(queue.snapshot().connections.first?.peerState == .up)
                let firstAttempts = dispatched.withLock { $0 }
                #expect(firstAttempts == ids, "first attempts not in FIFO order, or not exactly once each")
                print("smtp-sink drain: \(count) messages in \(String(format: "%.1f", seconds)) s over 4 connections")
            }
            try await store.close()
        }
    }
}
