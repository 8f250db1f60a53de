import Foundation
import Logging

/// The writer thread's state: the active segment, the chain head, the hand-over to the
/// index and the dedupe view. Every method runs on the writer thread only, so nothing
/// here locks; dedupe of concurrent commits is correct because batches are processed one
/// at a time.
final class ArchiveJournal {
    let directory: String
    let options: ArchiveStoreOptions
    let logger: Logger
    let metrics: ArchiveMetrics
    /// Inserts durable records into the index, on its own thread.
    private let indexWriter: IndexWriter
    /// The writer thread's read connection to the index, for dedupe lookups.
    private var lookup: ArchiveIndex?
    private let indexHealth: IndexHealth
    var writer: SegmentWriter?
    /// A segment that hit an I/O error and still needs its sidecar seal before any new
    /// segment may be created (the chain must not skip it).
    var failedWriter: SegmentWriter?
    /// Seal hash of the newest sealed segment: the next segment links to it.
    var chainHead: [UInt8]
    var nextSequence: UInt64

    init(directory: String, options: ArchiveStoreOptions, logger: Logger, metrics: ArchiveMetrics, indexHealth: IndexHealth,
         index: ArchiveIndex?, writer: SegmentWriter?, chainHead: [UInt8], nextSequence: UInt64) {
        self.directory = directory
        self.options = options
        self.logger = logger
        self.metrics = metrics
        self.indexHealth = indexHealth
        self.indexWriter = IndexWriter(index: index, logger: logger, health: indexHealth)
        if let index {
            do {
                lookup = try ArchiveIndex.openLookup(path: index.path)
            } catch {
                indexHealth.unavailable("index cannot be read (dedupe covers this run only): \(error)")
                logger.error("archive index cannot be read; dedupe covers this run only", metadata: ["error": "\(error)"])
            }
        } else {
            indexHealth.unavailable("no index: it could not be created at open (dedupe covers this run only)")
        }
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
                let offset = try target.append(message.encoded)
                target.hasMessages = true
                unsynced.append((i, ArchiveIndexEntry(metadata: message.metadata, segment: target.sequence,
                                                      offset: offset, storedSize: message.storedSize)))
            }
            if !unsynced.isEmpty { try writer?.sync() }
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
            let entries = durable.map(\.1)
            if let last = entries.last {
                let checkpoint = IndexCheckpoint(segment: last.segment, offset: last.offset + last.storedSize)
                indexWriter.add(entries, checkpoint: checkpoint)
            }
        }
        return results.map { $0 ?? .failure(.temporaryFailure(reason: reason)) }
    }

    private func receipt(_ e: ArchiveIndexEntry, duplicate: Bool, batch: Int) -> ArchiveReceipt {
        if duplicate { metrics.duplicates.increment() }
        return ArchiveReceipt(id: e.id, isDuplicate: duplicate, sha256: e.sha256, segment: e.segment, offset: e.offset, batchSize: batch)
    }

    private func existingEntry(sha: String) -> ArchiveIndexEntry? {
        // In this order: an entry leaves the writer's pending set only after its insert
        // has committed.
        if let pending = indexWriter.pendingEntry(sha256: sha) { return pending }
        do {
            return try lookup?.entry(sha256: sha)
        } catch {
            // Storing a duplicate is harmless; refusing mail is not. /readyz says so.
            indexHealth.lookupFailed(error)
            logger.error("archive index lookup failed; storing without dedupe", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Asks for queued index entries to go in now (the node is idle).
    func flushIndexSoon() {
        indexWriter.flushSoon()
    }

    /// Inserts what is queued for the index and closes both of its connections before
    /// returning. Entries not inserted are replayed from the segments at the next open
    /// (they lie after the index checkpoint).
    func closeIndex() {
        lookup = nil  // first: the last connection to close checkpoints the WAL
        indexWriter.close()
    }
}
