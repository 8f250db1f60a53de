import DurableFiles
import Foundation
import Logging

/// Expiry on a live node (docs/ARCHITECTURE.md, "Expiry"): the retention planner names the
/// originals whose time has passed; this removes them, their arrivals, their index and
/// search rows, and records the run, while mail keeps flowing.
extension ArchiveStore {
    /// One expiry run. `plan` is asked twice: once to learn the candidates, and again after
    /// the writer has been told to store any new arrival of theirs with a fresh copy and
    /// the index has everything durable before that; only originals both answers name are
    /// removed (a new arrival in between renews an original's retention). Originals with a
    /// record in the active segment, in a segment that does not check out, or still queued
    /// for a peer (`isQueued`) are deferred to a later run. At most `limit` originals per
    /// run: a run's plan and its memory stay bounded; call again while it removes some.
    public func expire(actor: String, now: Date = Date(), limit: Int = 10_000,
                       isQueued: @escaping @Sendable (ArchivePosition) -> Bool = { _ in false },
                       plan: @Sendable () async throws -> [ExpiryCandidate]) async throws -> ExpiryReport {
        try enterExpiryGate()
        defer { leaveExpiryGate() }
        let started = ContinuousClock.now
        let layout = self.layout
        guard let feeding = try await Self.blocking({ try DirectoryLock.take(path: layout.expiryLockPath, patience: .seconds(60)) }) else {
            throw ArchiveStoreError.busy("searches feeding the search index held \(layout.expiryLockPath) for a minute")
        }
        defer { feeding.release() }
        let indexer = searchIndexer
        // The plan asks the search database (query rules, holds) as it is: everything
        // durable now must be in it.
        if let indexer, try await !Self.blocking({ indexer.waitUntilCaughtUp(timeout: 600) }) {
            throw ArchiveStoreError.temporaryFailure(reason: "the search index is not caught up (a batch failed, or 10 minutes passed); expiry postponed")
        }
        try await Self.blocking { indexer?.pause() }
        defer { indexer?.resume() }
        let executor = ExpiryExecutor(layout: layout, options: options, logger: logger)
        if let unfinished = try ExpiryPlan.load(layout) {  // a run of this process that failed part way
            return try await finish(unfinished, executor: executor)
        }

        // The plan reads the index: what is durable must be in it (it takes up to 2 s).
        let indexWriter = try await committer.perform { $0.indexWriter }
        guard try await Self.blocking({ indexWriter.waitUntilCommitted(timeout: 120) }) else {
            throw ArchiveStoreError.temporaryFailure(reason: "the index did not take the archive's last records within 2 minutes; expiry postponed")
        }
        let first = try await plan()
        guard !first.isEmpty else { return ExpiryReport(run: "") }
        var registered = Set(first.map(\.sha256))
        let candidates = registered
        // On the writer thread, between batches: every batch before has been handed to the
        // index writer, and every one after stores fresh copies of these originals.
        let end = try await committer.perform { journal in
            journal.expiring.formUnion(candidates)
            return journal.durableEnd
        }
        guard let freshFrom = end else { throw ArchiveStoreError.temporaryFailure(reason: "no active segment") }
        let decided: ExpiryDecision
        do {
            guard try await Self.blocking({ indexWriter.waitUntilCommitted(timeout: 120) }) else {
                throw ArchiveStoreError.temporaryFailure(reason: "the index did not take the archive's last records within 2 minutes; expiry postponed")
            }
            let second = Set(try await plan().map(\.sha256))
            let keys = options.keys.ring
            let remote = options.remoteSegments
            decided = try await Self.blocking {
                try ExpiryDecision.make(layout: layout, keys: keys, remote: remote, first: first, second: second, freshFrom: freshFrom, limit: limit,
                                        actor: actor, now: now, isQueued: isQueued)
            }
            let keep = Set(decided.plan.originals.map(\.sha256))
            let release = registered.subtracting(keep)
            try await committer.perform { journal in journal.expiring.subtract(release) }
            registered = keep
            if !keep.isEmpty { try decided.plan.save(layout, faults: options.faultInjector) }
        } catch {
            // A plan that reached the disk (its save failed after the rename) is finished later.
            guard !FileManager.default.fileExists(atPath: ExpiryPlan.path(layout)) else { throw error }
            let release = registered
            _ = try? await committer.perform { journal in journal.expiring.subtract(release) }
            throw error
        }
        guard !decided.plan.originals.isEmpty else {
            return ExpiryReport(run: decided.plan.run, deferred: decided.deferred)
        }
        // From here on the plan is on disk: its originals stay registered until it is done.
        try options.expiryStepHook?(.planWritten)
        var report = try await finish(decided.plan, executor: executor)
        report.deferred = decided.deferred
        report.seconds = (ContinuousClock.now - started).seconds
        return report
    }

    /// Carries a written plan to its end, then lets the writer dedupe against its originals
    /// again (their index rows are gone). On failure they stay registered: the plan is
    /// finished by the next run or the next open, and until then no new arrival may point
    /// at a record it removes.
    private func finish(_ plan: ExpiryPlan, executor: ExpiryExecutor) async throws -> ExpiryReport {
        let layout = self.layout
        let shas = Set(plan.originals.map(\.sha256))
        try await committer.perform { journal in journal.expiring.formUnion(shas) }
        let committer = self.committer
        let indexWriter = try await committer.perform { $0.indexWriter }
        let report = try await Self.blocking {
            var plan = plan
            let index = try ArchiveIndex.openWritable(path: layout.indexPath)
            return try executor.finish(&plan, index: index, freshEnd: {
                // Read on the writer thread: every batch before it has been handed to the
                // index writer, so once that has committed them, the index holds them.
                let end = try Self.await { try await committer.perform { $0.durableEnd } }
                guard indexWriter.waitUntilCommitted(timeout: 120) else {
                    throw ArchiveStoreError.temporaryFailure(reason: "the index did not take the archive's last records within 2 minutes; the expiry run is finished later")
                }
                return end
            })
        }
        try await committer.perform { journal in journal.expiring.subtract(shas) }
        return report
    }

    /// One expiry run or eviction at a time: both replace segment files, and an eviction
    /// must remove the very file it hashed.
    func enterExpiryGate() throws {
        let entered = expiryGate.withLock { running in
            defer { running = true }
            return !running
        }
        guard entered else { throw ArchiveStoreError.busy("an expiry run or an eviction is under way") }
    }

    func leaveExpiryGate() { expiryGate.withLock { $0 = false } }

    /// Runs blocking file and database work on a thread of its own, not on Swift's
    /// cooperative pool.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DedicatedThread.start(name: "archive-expiry") { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Waits on a dedicated thread for async work (the writer's answer).
    private static func await<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
        let result = LockedValue<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let outcome: Result<T, any Error>
            do { outcome = .success(try await work()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0 }!.get()
    }
}

/// Which candidates a run removes, and the records each has.
struct ExpiryDecision {
    var plan: ExpiryPlan
    var deferred: Int

    static func make(layout: ArchiveLayout, keys: SegmentKeyRing, remote: (any RemoteSegmentSource)?,
                     first: [ExpiryCandidate], second: Set<String>, freshFrom: IndexCheckpoint, limit: Int,
                     actor: String, now: Date, isQueued: (ArchivePosition) -> Bool) throws -> ExpiryDecision {
        let index = try ArchiveIndex.openReadOnly(path: layout.indexPath, checked: false)
        let segments = Dictionary(try SegmentCatalog.load(directory: layout.archiveDirectory, keys: keys, remote: remote).map { ($0.sequence, $0) },
                                  uniquingKeysWith: { first, _ in first })
        var usable: [UInt64: Bool] = [:]
        func isUsable(_ sequence: UInt64) -> Bool {
            if let known = usable[sequence] { return known }
            let ok = segments[sequence].map { (try? SegmentCompactor.check($0)) != nil } ?? false
            usable[sequence] = ok
            return ok
        }
        var originals: [ExpiryPlan.Original] = []
        var records: [ExpiryPlan.Record] = []
        var deferred = 0
        for candidate in first where second.contains(candidate.sha256) {
            guard originals.count < limit else { break }
            guard let entry = try index.row(sha256: candidate.sha256), entry.id == candidate.archiveID else {
                deferred += 1
                continue
            }
            var own = [ExpiryPlan.Record(segment: entry.segment, offset: entry.offset, kind: RecordKind.message.rawValue,
                                         id: entry.id, original: entry.sha256)]
            for arrival in try index.arrivals(ofOriginal: candidate.sha256) where arrival.position != entry.position {
                own.append(ExpiryPlan.Record(segment: arrival.segment, offset: arrival.offset, kind: RecordKind.arrival.rawValue,
                                             id: arrival.id, original: entry.sha256))
            }
            let removable = own.allSatisfy { r in
                (r.segment, r.offset) < (freshFrom.segment, freshFrom.offset) && !isQueued(r.position) && isUsable(r.segment)
            }
            guard removable else {
                deferred += 1
                continue
            }
            originals.append(ExpiryPlan.Original(sha256: candidate.sha256, id: candidate.archiveID, rule: candidate.rule,
                                                 expiredAt: candidate.expiredAt))
            records += own
        }
        let run = ExpiryRunID.make(now)
        let plan = ExpiryPlan(run: run, actor: actor, startedAt: now, phase: .planned, freshFromSegment: freshFrom.segment,
                              freshFromOffset: freshFrom.offset, originals: originals, records: records)
        return ExpiryDecision(plan: plan, deferred: deferred)
    }
}

/// A run's name: its start (Unix seconds) and a random suffix (two runs in one second differ).
enum ExpiryRunID {
    static func make(_ now: Date) -> String {
        let seconds = Int64(now.timeIntervalSince1970)
        return "expiry-\(seconds)-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }
}
