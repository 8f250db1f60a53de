import ArchiveStore
import DurableFiles
import Foundation
import TestPowerLoss
import TestSupport
import Testing
@testable import ForwardQueue

/// The forwarding half of the invariant under power loss (issue 22, finding 14): a copy
/// owed to a peer is durable before the 250, in the archive record's promise or in the
/// journal (and spool). The store and the queue run on a `PowerLossDisk`, the power is cut
/// at the acknowledgment, and the queue reopened on what the disk kept must hold every
/// owed copy, exactly once, each loading its original.
@Suite struct QueuePowerLossTests {
    enum CutPoint: String, CaseIterable, CustomTestStringConvertible, Sendable {
        /// Archived messages whose records carry the promise; the entries were only posted.
        case promises
        /// A message forwarded and not archived: spool file, then journal entries.
        case spooled
        /// A message archived before, now forwarded: no new record, so journal entries.
        case duplicate
        /// At an enqueue after a compaction replaced the journal (temp file, rename,
        /// folder sync).
        case compaction
        /// Right after the folder sync that ends a compaction, before any later sync.
        case compactionInterrupted

        var testDescription: String { rawValue }
    }

    /// What the queue owes after the cut: its entries (`PromiseTests.line`) and the
    /// original each reference must load; entries whose removal was not acknowledged may
    /// be there too.
    struct Owed {
        var entries: [String] = []
        var originals: [MessageReference: [UInt8]] = [:]
        var mayRemain: [String] = []
    }

    /// Small, so that the compaction row's few dozen entries pass it.
    static let compactionThreshold = 4096

    @Test(arguments: CutPoint.allCases)
    func everyOwedCopyIsQueuedAfterAPowerCut(_ cut: CutPoint) async throws {
        try await withTempDirectory { base in
            let first = base + "/1", second = base + "/2"
            try FileManager.default.createDirectory(atPath: first, withIntermediateDirectories: false)
            let disk = try PowerLossDisk(root: first)
            var storeOptions = ArchiveStoreOptions()
            storeOptions.faultInjector = disk
            let store = try await ArchiveStore.open(dataDirectory: first, options: storeOptions, logger: quietLogger)
            var queueOptions = ForwardQueueOptions()
            queueOptions.faultInjector = disk
            queueOptions.compactionThreshold = Self.compactionThreshold
            let queue = try await ForwardQueue.open(dataDirectory: first, peers: PromiseTests.peers, archive: store, nodeID: "node-a",
                                                    options: queueOptions, logger: quietLogger)
            let trigger = PowerCutAtAcknowledgment(disk: disk, next: queue)
            store.observeCommits(trigger)
            let owed = try await Self.run(cut, store: store, queue: queue, disk: disk, trigger: trigger)
            #expect(!disk.isPowered, "the power was never cut")
            #expect(disk.problems.isEmpty, "\(disk.problems)")
            await queue.close()
            try await store.close()
            try disk.restore(to: second)

            let reopened = try await ArchiveStore.open(dataDirectory: second, logger: quietLogger)
            let requeued = try await ForwardQueue.open(dataDirectory: second, peers: PromiseTests.peers, archive: reopened, nodeID: "node-a",
                                                       logger: quietLogger)
            let entries = PromiseTests.entries(requeued)
            #expect(entries.filter { !owed.mayRemain.contains($0) } == owed.entries.sorted())
            for (reference, original) in owed.originals {
                let loaded = (try? await requeued.loadOriginal(reference)) == original
                #expect(loaded, "\(reference) does not load its original")
            }
            await requeued.close()
            try await reopened.close()
        }
    }

    static func run(_ cut: CutPoint, store: ArchiveStore, queue: ForwardQueue, disk: PowerLossDisk,
                    trigger: PowerCutAtAcknowledgment) async throws -> Owed {
        var owed = Owed()
        switch cut {
        case .promises:
            var receipts = try await PromiseTests.commit(3, to: store)
            trigger.arm()
            receipts += try await PromiseTests.commit(1, to: store, from: 3)
            owed.entries = PromiseTests.expected(receipts)
            for (n, receipt) in receipts.enumerated() {
                owed.originals[.archive(segment: receipt.arrivalPosition.segment, offset: receipt.arrivalPosition.offset)] = PromiseTests.original(n)
            }
        case .spooled:
            let (message, original) = try draft(store, 0, promise: nil)
            let reference = try await queue.spool(message)
            try await owed.enqueue(PromiseTests.promise(0), reference: reference, original: original, queue: queue)
            disk.cut()
        case .duplicate:
            let (message, original) = try draft(store, 0, promise: nil)
            _ = try await store.commit(message)
            let (again, _) = try draft(store, 0, promise: PromiseTests.promise(0))
            let receipt = try await store.commit(again)
            #expect(receipt.isDuplicate)
            let reference = MessageReference.archive(segment: receipt.arrivalPosition.segment, offset: receipt.arrivalPosition.offset)
            try await owed.enqueue(PromiseTests.promise(0), reference: reference, original: original, queue: queue)
            disk.cut()
        case .compaction, .compactionInterrupted:
            let (message, original) = try draft(store, 0, promise: nil)
            let receipt = try await store.commit(message)
            let reference = MessageReference.archive(segment: receipt.arrivalPosition.segment, offset: receipt.arrivalPosition.offset)
            let journal = queue.layout.journalPath
            let before = try FileManager.default.attributesOfItem(atPath: journal)[.systemFileNumber] as? Int
            for n in 0..<20 { try await owed.enqueue(PromiseTests.promise(n), reference: reference, original: original, queue: queue) }
            if cut == .compactionInterrupted { disk.cut(afterSyncOf: queue.layout.queueDirectory) }
            // All but the last entry go: the journal is then mostly dead and is rewritten.
            let lines = Self.lines(queue)
            for id in lines.keys.sorted().dropLast() {
                owed.entries.removeAll { $0 == lines[id] }
                do {
                    try await queue.delete(id: id)
                } catch {
                    owed.mayRemain.append(lines[id] ?? "")
                    break
                }
            }
            if cut == .compaction {
                try await owed.enqueue(PromiseTests.promise(20), reference: reference, original: original, queue: queue)
                disk.cut()
            }
            let after = try FileManager.default.attributesOfItem(atPath: journal)[.systemFileNumber] as? Int
            #expect(before != after, "the journal was not compacted")
        }
        return owed
    }

    /// The queue's entries by id (`PromiseTests.line`).
    static func lines(_ queue: ForwardQueue) -> [UInt64: String] {
        queue.book.withLock { book in
            Dictionary(uniqueKeysWithValues: book.peers.values.flatMap { $0.entries.values }.map { ($0.id, PromiseTests.line($0.item)) })
        }
    }

    /// Message `n` of `PromiseTests`, finished with `promise` in its record.
    static func draft(_ store: ArchiveStore, _ n: Int, promise: ForwardingPromise?) throws -> (FinishedMessage, [UInt8]) {
        var draft = try store.makeDraft(envelope: PromiseTests.envelope)
        try draft.append(bytes: PromiseTests.original(n))
        return (try draft.finish(forwarding: promise), PromiseTests.original(n))
    }
}

extension QueuePowerLossTests.Owed {
    /// Queues the copies `promise` stands for, as a node does for a message whose record
    /// does not carry them, and notes them as owed.
    mutating func enqueue(_ promise: ForwardingPromise, reference: MessageReference, original: [UInt8], queue: ForwardQueue) async throws {
        let items = promise.queueItems(reference: reference, size: UInt64(original.count), sender: "journal@example.test")
        try await queue.enqueue(items)
        entries += items.map(PromiseTests.line)
        originals[reference] = original
    }
}
