import DurableFiles
import Foundation
import Logging
import Metrics

/// The node's search indexing: a thread of its own that follows the durable end of the
/// archive with `SearchFeeder`, off the commit path.
///
/// The writer thread only moves the target and counts what it committed (`advance`), under
/// a lock, and never waits: a slow or failing search index delays no 250. The thread runs
/// at a lower priority (nice 10) so that MIME extraction gives the CPU up to the sessions
/// and the writer whenever they want it. Lag, in arrivals archived and not yet searchable,
/// is `archive_search_index_lag_messages`; `/readyz` ignores it (search catches up, mail
/// must not wait for it).
final class SearchIndexer: @unchecked Sendable {
    /// Waits between attempts after a failed batch (a full disk, a locked database).
    static let retryDelay: TimeInterval = 5
    /// New records wait for company this long, or until a batch's worth is there: each
    /// transaction makes FTS5 write and later merge a segment of its own, and one per
    /// group commit (hundreds a second) cost the commits CPU and disk time (bench row 5).
    /// A search does not wait for it: it feeds the index itself first.
    static let batchAge: TimeInterval = 1

    private struct State {
        /// Where the records are durable up to.
        var target: IndexCheckpoint?
        /// Arrival records durable (at open, then committed since) and those the feeder read.
        var archived = 0
        var indexed = 0
        var stopping = false
        var stopped = false
        var idle = true
        /// When the oldest record not yet indexed became durable; nil while idle.
        var since: Date?
        /// Someone waits for the index to catch up (`waitUntilCaughtUp`): no batching delay.
        var hurry = false
        /// Batches that failed (a full disk, a locked database): a waiter gives up on one.
        var failures = 0
        /// Expiry runs: no batch starts (`pause`), and the one running stops after its record.
        var paused = 0
        var inStep = false
        /// Segments were rewritten while paused: drop the open one before reading on.
        var reopen = false

        var lag: Int { max(0, archived - indexed) }
    }

    private let condition = NSCondition()
    private var state = State()
    private let feeder: SearchFeeder
    private let logger: Logger
    private let lag: Gauge

    /// `archived`: the arrival records the archive holds at open (the index's count, which
    /// recovery brought up to date). Starts indexing from the search index's progress at once.
    init(feeder: SearchFeeder, archived: Int, target: IndexCheckpoint?, logger: Logger, lag: Gauge) throws {
        self.feeder = feeder
        self.logger = logger
        self.lag = lag
        state.archived = archived
        state.indexed = try feeder.index.count(.arrivals)
        state.target = target
        state.idle = false
        lag.record(state.lag)
        DedicatedThread.start(name: "archive-search", niceness: 10) { [self] in run() }
    }

    /// The writer thread's hand-over after a durable batch: `end` is where the records are
    /// durable up to, `arrivals` how many arrival records the batch wrote.
    func advance(to end: IndexCheckpoint, arrivals: Int) {
        condition.lock()
        defer { condition.unlock() }
        state.target = end
        state.archived += arrivals
        if state.idle { state.since = Date() }
        state.idle = false
        lag.record(state.lag)
        condition.signal()
    }

    private var stopRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return state.stopping || state.paused > 0
    }

    /// Holds indexing while an expiry removes originals from the search database and the
    /// segments (their fresh copies must not be indexed before the old rows are gone);
    /// returns once no batch runs.
    func pause() {
        condition.lock()
        defer { condition.unlock() }
        state.paused += 1
        condition.broadcast()
        while state.inStep { condition.wait() }
    }

    /// Ends a `pause`; the segment the feeder had open is opened again (it may have been
    /// rewritten).
    func resume() {
        condition.lock()
        defer { condition.unlock() }
        state.paused = max(0, state.paused - 1)
        state.reopen = true
        condition.broadcast()
    }

    /// Arrivals archived and not yet searchable.
    var lagMessages: Int {
        condition.lock()
        defer { condition.unlock() }
        return max(0, state.archived - state.indexed)
    }

    /// Blocks until everything durable when called is searchable, or `timeout` passes, or a
    /// batch fails; true when caught up. For expiry, tests and `archive reindex`.
    func waitUntilCaughtUp(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        state.hurry = true
        condition.broadcast()
        defer { state.hurry = false }
        let failures = state.failures
        while !state.idle && !state.stopped && state.failures == failures {
            guard condition.wait(until: deadline) else { return state.idle }
        }
        return state.idle
    }

    /// Stops after the record in progress: its batch commits what it did (the rest is
    /// indexed at the next start), so a shutdown waits for one record's extraction, not for
    /// a batch of up to 32 MiB. Returns when the thread has let go of the database.
    func close() {
        condition.lock()
        defer { condition.unlock() }
        state.stopping = true
        condition.broadcast()
        while !state.stopped { condition.wait() }
    }

    private func run() {
        var failing = false
        while true {
            condition.lock()
            while !state.stopping && (state.idle || state.paused > 0) { condition.wait() }
            while !state.stopping && !state.hurry && state.lag < SearchFeeder.batchRecords,
                  let since = state.since, condition.wait(until: since.addingTimeInterval(Self.batchAge)) {}
            if state.stopping {
                state.stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let target = state.target
            state.inStep = true
            let reopen = state.reopen
            state.reopen = false
            condition.unlock()
            defer {
                condition.lock()
                state.inStep = false
                condition.broadcast()
                condition.unlock()
            }
            if reopen { feeder.closeSegment() }

            let batch: SearchFeeder.Batch
            do {
                batch = try feeder.step(until: target, stop: { [self] in stopRequested })
                if failing { logger.info("search index updates again") }
                failing = false
            } catch {
                if !failing { logger.error("search index update failed; retrying", metadata: ["error": "\(error)"]) }
                failing = true
                condition.lock()
                state.failures += 1
                condition.broadcast()
                _ = condition.wait(until: Date().addingTimeInterval(Self.retryDelay))
                condition.unlock()
                continue
            }

            condition.lock()
            state.indexed += batch.records
            // Caught up with the target it read: idle, unless a newer one came meanwhile.
            if batch.caughtUp && state.target != target {
                state.since = Date()  // what came meanwhile waits for company too
            } else if batch.caughtUp {
                state.idle = true
                state.since = nil
                // Exact once caught up (the feeder skipped damage, or a searcher fed some).
                state.indexed = state.archived
                condition.broadcast()
            }
            lag.record(state.lag)
            condition.unlock()
        }
    }
}
