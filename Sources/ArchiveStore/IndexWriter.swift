import DurableFiles
import Foundation
import Logging

/// Inserts durable records into the SQLite index on a thread of its own.
///
/// The writer thread hands over each group commit's entries and goes straight back to
/// the next batch: an index transaction takes milliseconds (and now and then a WAL
/// checkpoint with its fsync), and on the writer thread it held up every message that
/// arrived meanwhile (bench row 5: p99 about 3.0 ms with it there, 2.2 ms once moved,
/// against a 0.2 ms fdatasync). The index is derived data, so nothing waits for it.
///
/// Dedupe must still see every durable record: an entry stays in `pending` until the
/// transaction that inserts it has committed, so a lookup that misses `pending` finds the
/// entry through the writer's own read connection (`ArchiveJournal.existingEntry`).
/// Inserts are batched, up to `batchEntries` entries or `batchAge`. The digest and
/// Message-ID indexes take random keys, so every transaction rewrites pages all over them
/// (into the WAL, then again at its checkpoint): frequent transactions cost a busy node CPU
/// and slowed the archive's fdatasync on the same disk, which is the acknowledgment's
/// latency (bench/README.md, "Figures behind the code"). A crash loses nothing: the entries
/// after the index's checkpoint are replayed from the segments at open, and readers scan
/// them too.
final class IndexWriter: @unchecked Sendable {
    static let batchEntries = 8192
    static let batchAge: TimeInterval = 2

    private struct Queue {
        var rows = IndexRows()
        var checkpoint: IndexCheckpoint?
        /// When the oldest queued entry arrived.
        var since: Date?
        /// Handed over and not yet committed: originals by digest, arrivals by id and by
        /// content key.
        var pending: [String: ArchiveIndexEntry] = [:]
        var pendingArrivals: [String: ArrivalEntry] = [:]
        var pendingKeys: [String: [ArrivalEntry]] = [:]
        var flushRequested = false
        var stopping = false
        var stopped = false
    }

    private let condition = NSCondition()
    private var queue = Queue()
    /// Touched only by the indexing thread once it runs.
    private var index: ArchiveIndex?
    private let logger: Logger
    private let health: IndexHealth
    private let hasThread: Bool

    /// `index` nil: the archive runs without one (it could not be created); entries then
    /// stay in `pending`, so dedupe still covers this run.
    init(index: ArchiveIndex?, logger: Logger, health: IndexHealth = IndexHealth()) {
        self.index = index
        self.logger = logger
        self.health = health
        self.hasThread = index != nil
        guard hasThread else { return }
        DedicatedThread.start(name: "archive-index") { [self] in run() }
    }

    /// Hands over durable entries; `checkpoint` is where the segments are indexed up to
    /// once they are in.
    func add(_ rows: IndexRows, checkpoint: IndexCheckpoint) {
        condition.lock()
        defer { condition.unlock() }
        if queue.rows.isEmpty { queue.since = Date() }
        for entry in rows.originals where queue.pending[entry.sha256] == nil {
            queue.pending[entry.sha256] = entry
            if hasThread { queue.rows.originals.append(entry) }
        }
        for arrival in rows.arrivals where queue.pendingArrivals[arrival.id] == nil {
            queue.pendingArrivals[arrival.id] = arrival
            queue.pendingKeys[arrival.contentKey, default: []].append(arrival)
            if hasThread { queue.rows.arrivals.append(arrival) }
        }
        queue.checkpoint = checkpoint
        if queue.rows.count >= Self.batchEntries { condition.signal() }
    }

    /// A durable original not yet committed to the index.
    func pendingEntry(sha256: String) -> ArchiveIndexEntry? {
        condition.lock()
        defer { condition.unlock() }
        return queue.pending[sha256]
    }

    /// A durable arrival not yet committed to the index: by id, or a retry's by content
    /// key within `ArchiveIndex.retryWindow`.
    func pendingArrival(id: String, contentKey: String, near receivedAt: Date) -> ArrivalEntry? {
        condition.lock()
        defer { condition.unlock() }
        if let found = queue.pendingArrivals[id] { return found }
        return queue.pendingKeys[contentKey]?.first { abs($0.receivedAt.timeIntervalSince(receivedAt)) <= ArchiveIndex.retryWindow }
    }

    /// Waits until every entry handed over so far is committed to the index (asking for
    /// them to go in now), up to `timeout`; false if they are not by then, or there is no
    /// index to commit them to.
    func waitUntilCommitted(timeout: TimeInterval) -> Bool {
        guard hasThread else { return false }
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !(queue.rows.isEmpty && queue.pending.isEmpty && queue.pendingArrivals.isEmpty) {
            queue.flushRequested = true
            condition.broadcast()
            guard condition.wait(until: deadline) else { return false }
        }
        return true
    }

    /// Asks for the queued entries to go in now instead of at `batchAge` (the node is idle).
    func flushSoon() {
        condition.lock()
        defer { condition.unlock() }
        guard !queue.rows.isEmpty else { return }
        queue.flushRequested = true
        condition.signal()
    }

    /// Inserts what is queued, closes the database and stops the thread; returns when the
    /// database is closed. Entries whose insert fails are replayed from the segments at
    /// the next open (they lie after the index's checkpoint).
    func close() {
        guard hasThread else { return }
        condition.lock()
        defer { condition.unlock() }
        queue.stopping = true
        condition.signal()
        while !queue.stopped { condition.wait() }
    }

    private func run() {
        while true {
            condition.lock()
            while !queue.stopping && !dueLocked() {
                if let since = queue.since {
                    _ = condition.wait(until: since.addingTimeInterval(Self.batchAge))
                } else {
                    condition.wait()
                }
            }
            let batch = queue.rows
            let checkpoint = queue.checkpoint
            let stopping = queue.stopping
            queue.rows = IndexRows()
            queue.since = nil
            queue.flushRequested = false
            condition.unlock()

            let inserted = insert(batch, checkpoint: checkpoint)

            condition.lock()
            if inserted {
                for entry in batch.originals { queue.pending[entry.sha256] = nil }
                for arrival in batch.arrivals {
                    queue.pendingArrivals[arrival.id] = nil
                    queue.pendingKeys[arrival.contentKey]?.removeAll { $0.id == arrival.id }
                    if queue.pendingKeys[arrival.contentKey]?.isEmpty == true { queue.pendingKeys[arrival.contentKey] = nil }
                }
                condition.broadcast()  // `waitUntilCommitted`
            } else if !stopping {
                // Retried with the next batch; dedupe keeps seeing them meanwhile.
                var retry = batch
                retry.append(queue.rows)
                queue.rows = retry
                queue.since = queue.since ?? Date()
            }
            if stopping {
                index = nil  // the last reference: closes the database, on this thread
                queue.stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            if !inserted { Thread.sleep(forTimeInterval: Self.batchAge) }
        }
    }

    /// Called with the lock held.
    private func dueLocked() -> Bool {
        guard let since = queue.since, !queue.rows.isEmpty else { return false }
        return queue.flushRequested || queue.rows.count >= Self.batchEntries
            || Date().timeIntervalSince(since) >= Self.batchAge
    }

    private func insert(_ batch: IndexRows, checkpoint: IndexCheckpoint?) -> Bool {
        guard let index, let checkpoint, !batch.isEmpty else { return true }
        do {
            try index.insert(batch, checkpoint: checkpoint)
            health.updated()
            return true
        } catch {
            health.updateFailed(error)
            logger.error("archive index update failed; will retry", metadata: ["error": "\(error)", "pending": "\(batch.count)"])
            return false
        }
    }
}
