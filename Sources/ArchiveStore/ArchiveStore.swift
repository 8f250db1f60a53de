import DurableFiles
import Foundation
import Logging

/// The durable, deduplicating message archive of one node.
///
/// Messages are fed incrementally into a `MessageDraft`, finished, and committed;
/// `commit` returns only once the record is on stable storage (group-committed with
/// concurrent commits). All file I/O happens on one dedicated writer thread.
public final class ArchiveStore: Sendable {
    public let layout: ArchiveLayout
    public let options: ArchiveStoreOptions
    /// What open found and repaired.
    public let recoveryReport: RecoveryReport
    let committer: GroupCommitter
    private let capacityMonitor: CapacityMonitor
    private let indexHealth: IndexHealth
    private let lock: DirectoryLock
    private let trainer: DictionaryTrainer
    /// The memory drafts and uncommitted messages hold, node-wide.
    public let inflight: InflightBudget
    /// Dictionaries of segments read by location (`readOriginal`).
    let dictionaryCache = SegmentReadCache()
    /// Nil when the store keeps no search index (`ArchiveStoreOptions.searchIndex`).
    let searchIndexer: SearchIndexer?
    /// An expiry run or an eviction is under way (one at a time).
    let expiryGate = LockedValue(false)
    let logger: Logger

    private init(layout: ArchiveLayout, options: ArchiveStoreOptions, report: RecoveryReport, committer: GroupCommitter,
                 capacity: CapacityMonitor, indexHealth: IndexHealth, lock: DirectoryLock, trainer: DictionaryTrainer,
                 inflight: InflightBudget, searchIndexer: SearchIndexer?, logger: Logger) {
        self.logger = logger
        self.trainer = trainer
        self.searchIndexer = searchIndexer
        self.indexHealth = indexHealth
        self.inflight = inflight
        self.layout = layout
        self.options = options
        self.recoveryReport = report
        self.committer = committer
        self.capacityMonitor = capacity
        self.lock = lock
    }

    /// Opens (creating if needed) the archive in `<dataDirectory>/archive/`, runs recovery
    /// on the writer thread, and starts serving. Fails with `.locked` if another store
    /// has the directory open.
    public static func open(dataDirectory: String, options: ArchiveStoreOptions = ArchiveStoreOptions(),
                            logger: Logger) async throws -> ArchiveStore {
        let layout = ArchiveLayout(dataDirectory: dataDirectory)
        let metrics = ArchiveMetrics(factory: options.metricsFactory)
        let capacity = CapacityMonitor(path: layout.archiveDirectory, options: options, logger: logger, metrics: metrics)
        let tick = max(0.005, min(1, options.freeSpaceRecheckInterval))
        let committer = GroupCommitter(capacity: capacity, metrics: metrics, tick: tick)
        let indexHealth = IndexHealth(counter: metrics.indexFaults)
        let directoryLock = LockedValue<DirectoryLock?>(nil)
        let searchIndexer = LockedValue<SearchIndexer?>(nil)
        let trainer = DictionaryTrainer(options: options, logger: logger)
        let inflight = InflightBudget(limit: options.maxInflightBytes, spillDirectory: layout.draftsDirectory, metrics: metrics)
        let report = try await committer.start {
            try FilePermissions.createDirectories(layout.archiveDirectory)
            guard let lock = try DirectoryLock.take(path: layout.lockPath) else { throw ArchiveStoreError.locked(path: layout.lockPath) }
            directoryLock.withLock { $0 = lock }
            do {
                try InflightBudget.prepareSpillDirectory(layout.draftsDirectory)
                var recovery = ArchiveRecovery(layout: layout, options: options, logger: logger)
                let outcome = try recovery.run(now: Date())
                let journal = ArchiveJournal(
                    directory: layout.archiveDirectory, options: options, logger: logger, metrics: metrics,
                    indexHealth: indexHealth, index: outcome.index, writer: outcome.writer, chainHead: outcome.chainHead, nextSequence: outcome.nextSequence
                )
                journal.expiring = try finishExpiry(layout: layout, options: options, outcome: outcome, logger: logger)
                do {
                    try journal.ensureWriter(now: Date())
                } catch {
                    journal.closeIndex()  // stops the index thread, closes the database
                    throw error
                }
                journal.startSearch(path: layout.searchPath, archivedArrivals: (try? outcome.index?.arrivalCount()) ?? 0)
                searchIndexer.withLock { $0 = journal.searchIndexer }
                trainer.resume(with: outcome.dictionary)
                capacity.refreshIfDue(force: true)
                return (journal, recovery.report)
            } catch {
                lock.release()
                throw error
            }
        }
        for fault in report.faults {
            logger.error("archive fault found at open", metadata: ["fault": "\(fault)"])
        }
        guard let lock = directoryLock.withLock({ $0 }) else { throw ArchiveStoreError.unrecoverable("lock not taken") }
        return ArchiveStore(layout: layout, options: options, report: report, committer: committer, capacity: capacity,
                            indexHealth: indexHealth, lock: lock, trainer: trainer, inflight: inflight,
                            searchIndexer: searchIndexer.withLock { $0 }, logger: logger)
    }

    /// Carries an expiry run a crash cut short to its end (`ExpiryExecutor`), before any
    /// commit is taken. Returns the originals the writer must not dedupe against: those of
    /// a plan that could not be finished (logged), whose index rows may name removed records.
    private static func finishExpiry(layout: ArchiveLayout, options: ArchiveStoreOptions, outcome: ArchiveRecovery.Outcome,
                                     logger: Logger) throws -> Set<String> {
        guard var plan = try ExpiryPlan.load(layout) else { return [] }
        guard let index = outcome.index else {
            logger.error("an expiry run was cut short and the index is unavailable; it is finished at a later open", metadata: ["run": "\(plan.run)"])
            return Set(plan.originals.map(\.sha256))
        }
        guard let feeding = try DirectoryLock.take(path: layout.expiryLockPath, patience: .seconds(60)) else {
            logger.error("an expiry run was cut short and searches hold the feeding lock; it is finished at a later open", metadata: ["run": "\(plan.run)"])
            return Set(plan.originals.map(\.sha256))
        }
        defer { feeding.release() }
        let end = outcome.writer.map { IndexCheckpoint(segment: $0.sequence, offset: $0.durableSize) }
        do {
            _ = try ExpiryExecutor(layout: layout, options: options, logger: logger).finish(&plan, index: index, freshEnd: { end })
            logger.notice("finished an expiry run a crash had cut short", metadata: ["run": "\(plan.run)"])
            return []
        } catch {
            logger.error("an expiry run cut short could not be finished; it is tried again at the next run or open",
                         metadata: ["run": "\(plan.run)", "error": "\(error)"])
            return Set(plan.originals.map(\.sha256))
        }
    }

    /// A draft for the next message; feed it chunks as they arrive, then `finish()` it.
    public func makeDraft(envelope: ArchiveEnvelope) throws -> MessageDraft {
        let (dictionary, sampleLimit) = trainer.draftParameters()
        return try MessageDraft(envelope: envelope, compressionLevel: options.compressionLevel,
                                dictionary: dictionary, sampleLimit: sampleLimit, budget: inflight)
    }

    /// Makes `message` durable (or finds it already archived). Throws
    /// `insufficientStorage` when the volume is low and `temporaryFailure` when the
    /// write or sync failed; in both cases nothing was acknowledged.
    ///
    /// `wake` says when the writer thread learns of the message: at once, or, from a
    /// session on an event loop, at the end of the loop's current tick (`CommitWake`).
    public func commit(_ message: FinishedMessage, wake: CommitWake = .now) async throws -> ArchiveReceipt {
        if case .low(let free) = capacityMonitor.current {
            throw ArchiveStoreError.insufficientStorage(freeBytes: free)
        }
        trainer.offer(message)
        return try await withCheckedThrowingContinuation { continuation in
            committer.enqueue(message, continuation, wake: wake)
        }
    }

    /// Sets (or with nil, removes) the observer told of every durable batch before its
    /// committers resume (`ArchiveCommitObserver`).
    public func observeCommits(_ observer: (any ArchiveCommitObserver)?) {
        committer.observer.withLock { $0 = observer }
    }

    /// Removes `observer` if it is the one set (a later one stays).
    public func stopObservingCommits(_ observer: any ArchiveCommitObserver) {
        committer.observer.withLock { if $0 === observer { $0 = nil } }
    }

    /// The id of the dictionary new messages are compressed with; nil until one is trained.
    public var compressionDictionaryID: UInt32? { trainer.draftParameters().dictionary?.id }

    /// Free-space state of the archive volume (cached; refreshed by the writer thread).
    public var capacity: StorageCapacity { capacityMonitor.current }

    /// The reason of the last failed write (an fsync error) if it happened within
    /// `window`; nil when writes have been sound. Failed batches were never acknowledged,
    /// and the store moved to a new segment, but the volume deserves an operator's look.
    public func recentWriteFault(within window: TimeInterval = 300) -> String? {
        guard let (at, reason) = committer.recentFault.withLock({ $0 }), Date().timeIntervalSince(at) < window else { return nil }
        return reason
    }

    /// Why the index cannot be trusted now (a failed lookup or insert, or no index), or nil.
    /// Messages are still archived, but duplicates are stored again and `list` may miss
    /// some until it is repaired (restart, or `archive reindex`); `/readyz` reports it.
    public func indexFault() -> String? { indexHealth.fault }

    /// Arrivals archived and not yet searchable; nil without a search index.
    public var searchLag: Int? { searchIndexer?.lagMessages }

    /// Waits until everything archived so far is searchable, up to `timeout`; true when it
    /// is (false also without a search index).
    public func waitForSearchIndex(timeout: TimeInterval) async -> Bool {
        guard let searchIndexer else { return false }
        return await withCheckedContinuation { continuation in
            DedicatedThread.start(name: "search-wait") { continuation.resume(returning: searchIndexer.waitUntilCaughtUp(timeout: timeout)) }
        }
    }

    /// Completes queued commits, closes the files and releases the directory lock. The
    /// active segment stays open-ended and is resumed by the next `open`.
    public func close() async throws {
        await committer.close()
        lock.release()
    }
}
