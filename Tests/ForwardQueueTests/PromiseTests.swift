import ArchiveStore
import DurableFiles
import Foundation
import TestSupport
import Testing
@testable import ForwardQueue

/// Forwarding promises kept in archive records (docs/ARCHITECTURE.md, "One fdatasync per
/// forwarded message"): with the queue made the archive's commit observer, the queue's
/// entries for them are there when the archive commit returns, need no journal sync of
/// their own, and a crash that keeps them out of the journal is repaired from the archive
/// at the next open, exactly once.
@Suite struct PromiseTests {
    static let peers = [PeerSettings(name: "peer-a", host: "127.0.0.1"), PeerSettings(name: "peer-b", host: "127.0.0.1")]

    static func promise(_ n: Int) -> ForwardingPromise {
        ForwardingPromise(prefix: Array("X-Archiverelay-Trace: node-a \(n)\r\n".utf8), copies: [
            .init(connection: "peer-a", recipients: ["a\(n)@example.test"]),
            .init(connection: "peer-b", recipients: ["b\(n)@example.test", "c\(n)@example.test"]),
        ])
    }

    static let envelope = ArchiveEnvelope(receivedAt: Date(), listener: "journal", clientAddress: "127.0.0.1:1", helo: "h",
                                          tls: nil, sender: "journal@example.test", recipients: ["audit@example.test"])

    static func original(_ n: Int) -> [UInt8] { Array("Subject: \(n)\r\n\r\npromised \(n)\r\n".utf8) }

    /// Commits `count` messages, each promising a copy to both peers, one at a time (so
    /// their records are in order n); returns the receipts.
    static func commit(_ count: Int, to store: ArchiveStore, from first: Int = 0) async throws -> [ArchiveReceipt] {
        var receipts: [ArchiveReceipt] = []
        for n in first..<(first + count) {
            var draft = try store.makeDraft(envelope: envelope)
            try draft.append(bytes: original(n))
            receipts.append(try await store.commit(try draft.finish(forwarding: promise(n))))
        }
        return receipts
    }

    /// The queue's entries: (archive position, connection, recipients, prefix), sorted.
    static func entries(_ queue: ForwardQueue) -> [String] {
        queue.book.withLock { book in
            book.peers.values.flatMap { $0.entries.values }.map { line($0.item) }
        }.sorted()
    }

    static func line(_ item: QueueItem) -> String {
        "\(item.reference) \(item.connection) \(item.recipients) \(String(decoding: item.prefix, as: UTF8.self))"
    }

    static func expected(_ receipts: [ArchiveReceipt]) -> [String] {
        receipts.enumerated().flatMap { n, receipt in
            promise(n).copies.map { copy in
                "archive:\(receipt.arrivalPosition.segment)@\(receipt.arrivalPosition.offset) \(copy.connection) \(copy.recipients) X-Archiverelay-Trace: node-a \(n)\r\n"
            }
        }.sorted()
    }

    @Test func promisesAreQueuedWithTheCommit() async throws {
        try await withTempDirectory { dir in
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: Self.peers, archive: store, nodeID: "node-a", logger: quietLogger)
            store.observeCommits(queue)
            let receipts = try await Self.commit(10, to: store)
            #expect(Self.entries(queue) == Self.expected(receipts))
            let ids = queue.book.withLock { book in book.peers.values.flatMap { $0.entries.keys } }
            #expect(Set(ids).count == 20)
            // A duplicate writes nothing, so nothing comes with its commit.
            let again = try await Self.commit(1, to: store)
            #expect(again[0].isDuplicate)
            #expect(Self.entries(queue) == Self.expected(receipts))
            store.stopObservingCommits(queue)
            await queue.close()
            let offline = try ForwardQueue.readSnapshot(dataDirectory: dir)
            #expect(offline.entries.count == 20)
            try await store.close()
        }
    }

    /// The journal as it was before the commits is a crash that lost every posted entry;
    /// with only the first `kept` messages' entries written, one that lost the rest.
    @Test(arguments: [0, 4])
    func promisesACrashKeptOutOfTheJournalAreQueuedAtOpen(kept: Int) async throws {
        try await withTempDirectory { dir in
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: Self.peers, archive: store, nodeID: "node-a", logger: quietLogger)
            store.observeCommits(queue)
            let layout = QueueLayout(dataDirectory: dir)
            var journalAtOpen = readFile(layout.journalPath)
            let receipts = try await Self.commit(10, to: store)
            let before = queue.book.withLock { book in
                book.peers.values.flatMap { $0.entries.values }.sorted { $0.id < $1.id }
            }
            for entry in before.prefix(kept * 2) { journalAtOpen += JournalFrame.encode(.enqueue(entry)) }
            if kept > 0 { journalAtOpen += JournalFrame.encode(.archivedThrough(receipts[kept - 1].arrivalPosition)) }
            store.stopObservingCommits(queue)
            await queue.close()
            try await store.close()
            try writeFile(layout.journalPath, journalAtOpen)

            let store2 = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let reopened = try await ForwardQueue.open(dataDirectory: dir, peers: Self.peers, archive: store2, nodeID: "node-a", logger: quietLogger)
            #expect(Self.entries(reopened) == Self.expected(receipts))
            await reopened.close()
            // Taken once: the journal now says they are queued.
            let third = try await ForwardQueue.open(dataDirectory: dir, peers: Self.peers, archive: store2, nodeID: "node-a", logger: quietLogger)
            #expect(Self.entries(third) == Self.expected(receipts))
            await third.close()
            try await store2.close()
        }
    }

    /// A journal without `archivedThrough` (older versions synced every entry) starts at
    /// the archive's last record: what is there was queued the old way.
    @Test func aJournalWithoutArchivedThroughStartsAtTheLastRecord() async throws {
        try await withTempDirectory { dir in
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let receipts = try await Self.commit(3, to: store)   // no queue observing
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: Self.peers, archive: store, nodeID: "node-a", logger: quietLogger)
            #expect(Self.entries(queue).isEmpty)
            #expect(queue.writerImageArchivedThrough == receipts[2].arrivalPosition)
            await queue.close()
            try await store.close()
        }
    }
}

extension ForwardQueue {
    /// For tests: the durable `archivedThrough`, read back from the journal file.
    var writerImageArchivedThrough: ArchivePosition? {
        (try? QueueJournal.scan(Durable.readAllIfPresent(layout.journalPath)).0.archivedThrough) ?? nil
    }
}
