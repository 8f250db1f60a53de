import Foundation
import Logging

/// The writer thread's state: the active segment, the chain head, the index and the
/// dedupe view. Every method runs on the writer thread only, so nothing here locks;
/// dedupe of concurrent commits is correct because batches are processed one at a time.
final class ArchiveJournal {
    let directory: String
    let options: ArchiveStoreOptions
    let logger: Logger
    let metrics: ArchiveMetrics
    private var index: ArchiveIndex?
    var writer: SegmentWriter?
    /// A segment that hit an I/O error and still needs its sidecar seal before any new
    /// segment may be created (the chain must not skip it).
    var failedWriter: SegmentWriter?
    /// Seal hash of the newest sealed segment: the next segment links to it.
    var chainHead: [UInt8]
    var nextSequence: UInt64
    /// Durable records whose index insert failed; dedupe consults them first and the
    /// insert is retried after the next batch.
    private var unindexed: [ArchiveIndexEntry] = []
    private var unindexedBySHA: [String: ArchiveIndexEntry] = [:]
    private var pendingCheckpoint: IndexCheckpoint?
    /// When the oldest entry of `unindexed` became durable.
    private var unindexedSince: ContinuousClock.Instant?
    /// Index inserts are batched up to this many entries or this age: one SQLite
    /// transaction per group commit cost ~8% of a busy node's CPU, mostly in rewriting
    /// the same B-tree pages. Dedupe never waits for the index (`unindexedBySHA`).
    static let indexBatchEntries = 1024
    static let indexBatchAge: Duration = .milliseconds(250)

    init(directory: String, options: ArchiveStoreOptions, logger: Logger, metrics: ArchiveMetrics,
         index: ArchiveIndex?, writer: SegmentWriter?, chainHead: [UInt8], nextSequence: UInt64) {
        self.directory = directory
        self.options = options
        self.logger = logger
        self.metrics = metrics
        self.index = index
        self.writer = writer
        self.chainHead = chainHead
        self.nextSequence = nextSequence
    }

    // MARK: Group commit

    /// Writes a batch, syncs once, indexes; one result per message, in order.
    func process(_ batch: [FinishedMessage], now: Date) -> [Result<ArchiveReceipt, ArchiveStoreError>] {
        var results = [Result<ArchiveReceipt, ArchiveStoreError>?](repeating: nil, count: batch.count)
        var inBatch: [String: Int] = [:]             // sha → index of the first copy in this batch
        var unsynced: [(Int, ArchiveIndexEntry)] = []  // written, not yet durable
        var durable: [(Int, ArchiveIndexEntry)] = []
        do {
            try ensureWriter(now: now)
            for (i, message) in batch.enumerated() {
                let sha = message.metadata.sha256Hex
                if let existing = existingEntry(sha: sha) {
                    results[i] = .success(receipt(existing, duplicate: true, batch: 1))
                    continue
                }
                if inBatch[sha] != nil { continue }  // resolved from the first copy below
                inBatch[sha] = i
                guard let active = writer else { throw ArchiveStoreError.temporaryFailure(reason: "no active segment") }
                if shouldRotate(active, adding: message.storedSize, now: now) {
                    // Sealing syncs, which makes everything written so far durable.
                    try rotate(now: now)
                    durable += unsynced
                    unsynced.removeAll()
                }
                if try placeDictionary(message.dictionary, now: now) {  // rotated: all so far is durable
                    durable += unsynced
                    unsynced.removeAll()
                }
                guard let target = writer else { throw ArchiveStoreError.temporaryFailure(reason: "no active segment") }
                let offset = try target.append(message.encodedRecord)
                target.hasMessages = true
                unsynced.append((i, ArchiveIndexEntry(metadata: message.metadata, segment: target.sequence,
                                                      offset: offset, storedSize: message.storedSize)))
            }
            if !unsynced.isEmpty { try writer?.sync(faults: options.faultInjector) }
            durable += unsynced
            unsynced.removeAll()
        } catch {
            fail(error, now: now)
        }
        let reason = "archive write failed; message not stored"
        for (i, entry) in durable { results[i] = .success(receipt(entry, duplicate: false, batch: durable.count)) }
        for (i, _) in unsynced { results[i] = .failure(.temporaryFailure(reason: reason)) }
        // Later copies of a message first seen in this batch share its outcome.
        for (i, message) in batch.enumerated() where results[i] == nil {
            if let first = inBatch[message.metadata.sha256Hex], case .success(let r)? = results[first], first != i {
                results[i] = .success(ArchiveReceipt(id: r.id, isDuplicate: true, sha256: r.sha256, segment: r.segment, offset: r.offset, batchSize: r.batchSize))
            } else {
                results[i] = .failure(.temporaryFailure(reason: reason))
            }
        }
        if !durable.isEmpty {
            metrics.batchSize.record(durable.count)
            for (i, entry) in durable {
                metrics.messagesArchived.increment()
                metrics.bytesRaw.increment(by: Int64(entry.size))
                metrics.bytesStored.increment(by: Int64(batch[i].storedSize))
            }
            record(durable.map(\.1))
        }
        return results.map { $0 ?? .failure(.temporaryFailure(reason: reason)) }
    }

    private func receipt(_ e: ArchiveIndexEntry, duplicate: Bool, batch: Int) -> ArchiveReceipt {
        if duplicate { metrics.duplicates.increment() }
        return ArchiveReceipt(id: e.id, isDuplicate: duplicate, sha256: e.sha256, segment: e.segment, offset: e.offset, batchSize: batch)
    }

    private func existingEntry(sha: String) -> ArchiveIndexEntry? {
        if let pending = unindexedBySHA[sha] { return pending }
        do {
            return try index?.entry(sha256: sha)
        } catch {
            // Storing a duplicate is harmless; refusing mail is not.
            logger.error("archive index lookup failed; storing without dedupe", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Queues durable entries for the index. Dedupe sees them at once; the SQLite insert
    /// happens in `flushIndex`, which the writer calls after it has resumed the batch's
    /// callers, so the index (derived data) never delays a 250.
    private func record(_ entries: [ArchiveIndexEntry]) {
        if unindexed.isEmpty { unindexedSince = .now }
        for e in entries where unindexedBySHA[e.sha256] == nil {
            unindexed.append(e)
            unindexedBySHA[e.sha256] = e
        }
        if let last = entries.last {
            pendingCheckpoint = IndexCheckpoint(segment: last.segment, offset: last.offset + last.storedSize)
        }
    }

    /// Drops the writer's index connection (its last reference), which closes the
    /// SQLite database. Entries not yet inserted are replayed from the segments at the next
    /// open (they lie after the index checkpoint).
    func releaseIndex() {
        index = nil
    }

    /// Inserts the durable entries into the index once enough have gathered (or `force`).
    func flushIndex(force: Bool = false) {
        guard let index, let checkpoint = pendingCheckpoint, !unindexed.isEmpty else { return }
        if !force, unindexed.count < Self.indexBatchEntries, let since = unindexedSince, .now - since < Self.indexBatchAge { return }
        do {
            try index.insert(unindexed, checkpoint: checkpoint)
            unindexed.removeAll()
            unindexedBySHA.removeAll()
            pendingCheckpoint = nil
        } catch {
            logger.error("archive index update failed; will retry", metadata: ["error": "\(error)", "pending": "\(unindexed.count)"])
        }
    }
}
