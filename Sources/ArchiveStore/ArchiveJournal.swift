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
    let indexWriter: IndexWriter
    /// The writer thread's read connection to the index, for dedupe lookups.
    private var lookup: ArchiveIndex?
    /// Follows the durable end into the search index (`ArchiveStoreOptions.searchIndex`).
    private(set) var searchIndexer: SearchIndexer?
    private let indexHealth: IndexHealth
    var writer: SegmentWriter?
    /// A segment that hit an I/O error and still needs its sidecar seal before any new
    /// segment may be created (the chain must not skip it).
    var failedWriter: SegmentWriter?
    /// Seal hash of the newest sealed segment: the next segment links to it.
    var chainHead: [UInt8]
    var nextSequence: UInt64
    /// Originals (SHA-256 hex) an expiry is removing: a new arrival of one is stored with
    /// a fresh copy of its original, never as a reference to the record being removed.
    var expiring: Set<String> = []

    /// Where the records are durable up to.
    var durableEnd: IndexCheckpoint? { writer.map { IndexCheckpoint(segment: $0.sequence, offset: $0.durableSize) } }

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

    /// What `process` decided for one message of a batch.
    private enum Outcome {
        /// A record written (not yet synced): the original's with its first arrival, or
        /// the arrival's alone.
        case written(ArchiveReceipt, IndexRows)
        /// Nothing written: the arrival was recorded earlier, durably.
        case recorded(ArchiveReceipt)
        /// Nothing written: the arrival is one another message of this batch wrote.
        case sameAs(Int, ArchiveReceipt)
    }

    /// Writes a batch, syncs once, indexes; one result per message, in order. For each
    /// message one record or none: a new original's record, which holds its arrival; for
    /// an original stored before, the arrival's record, unless it is an arrival recorded
    /// before (same id, or a retry: docs/FORMAT.md, "Arrivals").
    func process(_ batch: [FinishedMessage], now: Date) -> [Result<ArchiveReceipt, ArchiveStoreError>] {
        var outcomes = [Outcome?](repeating: nil, count: batch.count)
        var originals: [String: ArchiveIndexEntry] = [:]  // sha → written in this batch
        var arrivalIDs: [String: Int] = [:]   // arrival id → the message of this batch that wrote it
        var arrivalKeys: [String: Int] = [:]  // content key → the same
        var unsynced: [Int] = []  // written, not yet durable
        var durable: [Int] = []
        do {
            try ensureWriter(now: now)
            try rekey(now: now)
            for (i, message) in batch.enumerated() {
                let arrival = message.arrival
                let key = message.arrivalKeys.contentKey
                if let first = arrivalIDs[arrival.id] ?? arrivalKeys[key], case .written(let receipt, _)? = outcomes[first] {
                    outcomes[i] = .sameAs(first, receipt)
                    continue
                }
                let sha = message.metadata.sha256Hex
                let stored = originals[sha] ?? existingEntry(sha: sha)
                if let stored, let earlier = existingArrival(arrival, contentKey: key) {
                    metrics.duplicates.increment()
                    outcomes[i] = .recorded(receipt(stored, earlier, recorded: false, duplicate: true))
                    continue
                }
                // An arrival of an original stored before gets a record of its own, encoded
                // here: only then is it needed (most mail is a new original).
                let section = stored == nil ? [] : try RecordCodec.arrivalSection(
                    arrival, originalSHA256: message.metadata.sha256, dictionary: message.dictionary, level: message.level)
                guard let active = writer else { throw ArchiveStoreError.temporaryFailure(reason: "no active segment") }
                let size = (stored == nil ? message.storedSize : section.count + 128) + active.encryption.sealedOverhead
                if shouldRotate(active, adding: size, now: now) {
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
                var rows = IndexRows()
                let original: ArchiveIndexEntry
                let entry: ArrivalEntry
                if let stored {
                    original = stored
                    metrics.duplicates.increment()
                    let reference = OriginalReference(sha256: message.metadata.sha256, position: original.position)
                    let record = RecordCodec.arrivalRecord(section: section, dictionaryID: message.dictionary?.id ?? 0,
                                                           original: reference)
                    let written = try target.append(record)
                    entry = ArrivalEntry(arrival, originalSHA256: message.metadata.sha256, storedSize: written.length,
                                         segment: target.sequence, offset: written.offset, keys: message.arrivalKeys)
                } else {
                    let written = try target.append(message.encoded)
                    original = ArchiveIndexEntry(metadata: message.metadata, segment: target.sequence, offset: written.offset,
                                                 storedSize: written.length)
                    entry = ArrivalEntry(arrival, originalSHA256: message.metadata.sha256, storedSize: written.length,
                                         segment: target.sequence, offset: written.offset, keys: message.arrivalKeys)
                    rows.originals.append(original)
                    originals[sha] = original
                }
                target.hasMessages = true
                rows.arrivals.append(entry)
                arrivalIDs[arrival.id] = i
                arrivalKeys[key] = i
                outcomes[i] = .written(receipt(original, entry, recorded: true, duplicate: stored != nil), rows)
                unsynced.append(i)
            }
            if !unsynced.isEmpty { try writer?.sync() }
            durable += unsynced
            unsynced.removeAll()
        } catch {
            fail(error, now: now)
        }
        let failure = ArchiveStoreError.temporaryFailure(reason: "archive write failed; message not stored")
        let isDurable = Set(durable)
        var results: [Result<ArchiveReceipt, ArchiveStoreError>] = []
        results.reserveCapacity(batch.count)
        for (i, outcome) in outcomes.enumerated() {
            switch outcome {
            case .written(var receipt, _)? where isDurable.contains(i):
                receipt.batchSize = durable.count
                results.append(.success(receipt))
            case .recorded(let receipt)?:
                results.append(.success(receipt))
            case .sameAs(let first, var receipt)? where isDurable.contains(first):
                receipt.arrivalRecorded = false
                receipt.isDuplicate = true
                receipt.batchSize = durable.count
                metrics.duplicates.increment()
                results.append(.success(receipt))
            default:
                results.append(.failure(failure))
            }
        }
        var rows = IndexRows()
        for i in durable {
            guard case .written(_, let written)? = outcomes[i] else { continue }
            rows.append(written)
            if !written.originals.isEmpty {
                metrics.messagesArchived.increment()
                metrics.bytesRaw.increment(by: Int64(batch[i].originalSize))
            }
            // One record per message: the original's (its first arrival in it) or the arrival's.
            metrics.bytesStored.increment(by: Int64(written.originals.first?.storedSize ?? written.arrivals.first?.storedSize ?? 0))
        }
        // Each message's arrival is in its last (or only) record; `durable` is in append order.
        if let last = durable.last, case .written(_, let written)? = outcomes[last], let end = written.arrivals.last {
            metrics.batchSize.record(durable.count)
            let checkpoint = IndexCheckpoint(segment: end.segment, offset: end.offset + end.storedSize)
            indexWriter.add(rows, checkpoint: checkpoint)
            searchIndexer?.advance(to: checkpoint, arrivals: rows.arrivals.count)
        }
        return results
    }

    private func receipt(_ original: ArchiveIndexEntry, _ arrival: ArrivalEntry, recorded: Bool, duplicate: Bool) -> ArchiveReceipt {
        ArchiveReceipt(id: original.id, isDuplicate: duplicate, sha256: original.sha256, segment: original.segment, offset: original.offset,
                       arrivalID: arrival.id, arrivalPosition: arrival.position, arrivalRecorded: recorded, batchSize: 1)
    }

    private func existingEntry(sha: String) -> ArchiveIndexEntry? {
        guard !expiring.contains(sha) else { return nil }
        // In this order: an entry leaves the writer's pending set only after its insert
        // has committed.
        if let pending = indexWriter.pendingEntry(sha256: sha) { return pending }
        do {
            return try lookup?.row(sha256: sha)
        } catch {
            // Storing a duplicate is harmless; refusing mail is not. /readyz says so.
            indexHealth.lookupFailed(error)
            logger.error("archive index lookup failed; storing without dedupe", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The arrival recorded before that `arrival` is: the same id (a peer's redelivery),
    /// or a retry of the same transaction within the window.
    private func existingArrival(_ arrival: Arrival, contentKey key: String) -> ArrivalEntry? {
        let at = arrival.envelope.receivedAt
        if let pending = indexWriter.pendingArrival(id: arrival.id, contentKey: key, near: at) { return pending }
        do {
            return try lookup?.arrival(id: arrival.id) ?? lookup?.arrival(contentKey: key, near: at)
        } catch {
            indexHealth.lookupFailed(error)
            logger.error("archive index lookup failed; recording the arrival again", metadata: ["error": "\(error)"])
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
        searchIndexer?.close()
        searchIndexer = nil
        lookup = nil  // first: the last connection to close checkpoints the WAL
        indexWriter.close()
    }

    /// Starts the search indexer once recovery is done and the active segment is open:
    /// its first target is the durable end. A search index that cannot be opened leaves
    /// the archive working without search (logged); one that claims records beyond the
    /// durable end (a restored or truncated archive) is rebuilt.
    func startSearch(path: String, archivedArrivals: Int) {
        guard options.searchIndex, searchIndexer == nil, let writer else { return }
        let end = IndexCheckpoint(segment: writer.sequence, offset: writer.durableSize)
        do {
            var opened: SearchIndex? = try SearchIndex.openWritable(path: path)
            if let progress = try opened?.progress(), (progress.segment, progress.offset) > (end.segment, end.offset) {
                logger.warning("search index is ahead of the archive; rebuilding it", metadata: ["progress": "\(progress)", "durable_end": "\(end)"])
                opened = nil  // closed before its files go
                opened = try SearchIndex.openWritable(path: path, fresh: true)
            }
            guard let index = opened else { return }
            let feeder = SearchFeeder(index: index, archiveDirectory: directory, keys: options.keys, remote: options.remoteSegments, logger: logger)
            searchIndexer = try SearchIndexer(feeder: feeder, archived: archivedArrivals, target: end, logger: logger,
                                              lag: metrics.searchIndexLag)
        } catch {
            logger.error("search index cannot be opened; archiving goes on without search", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}
