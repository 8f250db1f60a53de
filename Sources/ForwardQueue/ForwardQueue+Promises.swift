import ArchiveStore
import Foundation
import Logging

/// Entries for the forwarding promises in archive records (docs/ARCHITECTURE.md, "One
/// fdatasync per forwarded message"). The archive's writer hands each durable batch over
/// in append order; the entries are posted to the journal without a sync and followed by
/// `archivedThrough`, so the journal always says up to where the archive's promises are
/// queued. After a crash, `open` queues the promises of the records after that point.
/// The node's builder connects the two (`archive.observeCommits(queue)`); a committer
/// that waits for a copy's delivery asks by the record's position (`waitForDelivery`).
extension ForwardQueue: ArchiveCommitObserver {
    /// How often a batch without promises still moves `archivedThrough` on: it bounds
    /// what `open` scans after a crash on a node that mostly archives.
    static let archivedThroughInterval: TimeInterval = 5

    public func archived(_ forwarded: [ArchivedForwarding], through last: ArchivePosition) {
        let now = Date()
        let (entries, ids, due) = book.withLock { book in
            var entries: [QueueEntry] = []
            let ids = forwarded.map { message in
                Self.items(for: message).map { item in
                    defer { book.nextID += 1 }
                    entries.append(QueueEntry(id: book.nextID, item: item, enqueuedAt: now))
                    return book.nextID
                }
            }
            let due = !forwarded.isEmpty
                || book.archivedThroughPostedAt.map { now.timeIntervalSince($0) >= Self.archivedThroughInterval } ?? true
            if due { book.archivedThroughPostedAt = now }
            return (entries, ids, due)
        }
        guard due else { return }
        // Posted before the entries are visible to the workers, so a delivery's record
        // always follows its entry's.
        writer.post(entries.map { .enqueue($0) } + [.archivedThrough(last)])
        for (message, entryIDs) in zip(forwarded, ids) {
            if let finished = message.message { recent.keep(finished, asArrival: true, for: entryIDs) }
        }
        book.withLock { book in
            for entry in entries { Self.add(entry, to: &book, logger: logger) }
            return book.sleepers.removeWorkers(for: entries)
        }.resume(woken: true)
    }

    /// The queue items an arrival's promise stands for, one per connection: copies of the
    /// message as that arrival received it.
    static func items(for message: ArchivedForwarding) -> [QueueItem] {
        let reference = MessageReference.archive(segment: message.position.segment, offset: message.position.offset)
        return message.arrival.forwarding?.queueItems(
            reference: reference, size: message.arrival.receivedSize, sender: message.arrival.envelope.sender) ?? []
    }

    /// Adds an entry to its connection's queue; a connection no longer configured (the
    /// configuration changed since the message was admitted) keeps it, undelivered.
    static func add(_ entry: QueueEntry, to book: inout QueueBook, logger: Logger) {
        guard book.peers.add(entry) else { return }
        let name = entry.item.connection
        logger.warning("queue entry for a connection not configured is kept, not delivered", metadata: ["connection": "\(name)", "id": "\(entry.id)"])
        book.metrics[name] = QueueMetrics(connection: name)
    }

    /// At open, before anything is committed: queues (durably) the promises of the archive
    /// records after the journal's `archivedThrough`, which a crash kept out of the
    /// journal. A journal without one (new, or written by an older version that synced
    /// every entry) starts at the archive's last record, or before the first.
    static func takeMissedPromises(from archive: ArchiveStore, into journal: QueueJournal, logger: Logger) throws {
        guard let through = journal.image.archivedThrough else {
            let last = try archive.lastMessagePosition()
            try journal.commit([.archivedThrough(last ?? ArchivePosition(segment: 0, offset: 0))])
            return
        }
        let (found, faults) = try archive.forwardings(after: through)
        for fault in faults {
            logger.error("archive record unreadable: a forwarding promise it may hold is not queued", metadata: ["record": "\(fault)"])
        }
        guard !found.isEmpty else { return }
        let now = Date()
        var nextID = journal.image.nextID
        var records: [JournalRecord] = []
        for message in found {
            for item in items(for: message) {
                records.append(.enqueue(QueueEntry(id: nextID, item: item, enqueuedAt: now)))
                nextID += 1
            }
        }
        records.append(.archivedThrough(found[found.count - 1].position))
        try journal.commit(records)
        logger.warning("forward queue took promises a crash kept out of its journal from the archive",
                       metadata: ["messages": "\(found.count)", "entries": "\(records.count - 1)", "after": "\(through)"])
    }
}

extension ForwardingPromise {
    /// The queue items these copies stand for, one per connection, of the message stored
    /// at `reference`: what `archived` queues for a record's promise, and what a node
    /// queues itself for copies no new record carries (a duplicate, a spooled message).
    public func queueItems(reference: MessageReference, size: UInt64, sender: String) -> [QueueItem] {
        copies.map { copy in
            QueueItem(connection: copy.connection, reference: reference, size: size, sender: sender,
                      recipients: copy.recipients, prefix: prefix)
        }
    }
}
