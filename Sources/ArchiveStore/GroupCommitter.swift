import DurableFiles
import Foundation
import Logging
import Metrics
import NIOCore

/// The dedicated writer thread. Callers enqueue finished messages and suspend; the thread
/// takes everything pending, writes it, fdatasyncs once and resumes them all, so
/// throughput is bounded by bandwidth, not by the disk's sync rate. Blocking syscalls
/// never run on Swift's cooperative pool or an event loop.
///
/// `@unchecked Sendable`: the queue is guarded by `condition`; the journal is touched only
/// by the writer thread (and by `start` before the thread exists).
final class GroupCommitter: @unchecked Sendable {
    private struct Pending {
        var message: FinishedMessage
        var continuation: CheckedContinuation<ArchiveReceipt, any Error>
        var enqueued: ContinuousClock.Instant
    }

    private let condition = NSCondition()
    private var queue: [Pending] = []
    /// Work for the writer thread besides commits (expiry's changes to the dedupe view),
    /// run between batches.
    private var jobs: [(ArchiveJournal?) -> Void] = []
    private var closing = false
    private var closed = false
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []
    /// Event loops with a wake scheduled (`CommitWake.afterTick`).
    private var loopsToWake: [ObjectIdentifier] = []

    private var journal: ArchiveJournal?
    private let capacity: CapacityMonitor
    /// The last failed write (fsync error and the like): when and why, for `/readyz`.
    let recentFault = LockedValue<(Date, String)?>(nil)
    private let metrics: ArchiveMetrics
    private let tick: TimeInterval
    /// Told of every durable batch before its committers resume (the forward queue).
    let observer = LockedValue<(any ArchiveCommitObserver)?>(nil)

    init(capacity: CapacityMonitor, metrics: ArchiveMetrics, tick: TimeInterval) {
        self.capacity = capacity
        self.metrics = metrics
        self.tick = tick
    }

    /// Starts the thread, runs `setup` on it (recovery), then serves the queue.
    func start(setup: @escaping @Sendable () throws -> (ArchiveJournal, RecoveryReport)) async throws -> RecoveryReport {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RecoveryReport, any Error>) in
            DedicatedThread.start(name: "archive-writer") { [self] in
                do {
                    let (journal, report) = try setup()
                    self.journal = journal
                    continuation.resume(returning: report)
                } catch {
                    condition.lock()
                    closed = true
                    condition.unlock()
                    continuation.resume(throwing: error)
                    return
                }
                run()
            }
        }
    }

    func enqueue(_ message: FinishedMessage, _ continuation: CheckedContinuation<ArchiveReceipt, any Error>, wake: CommitWake) {
        condition.lock()
        guard !closing && !closed else {
            condition.unlock()
            continuation.resume(throwing: ArchiveStoreError.closed)
            return
        }
        queue.append(Pending(message: message, continuation: continuation, enqueued: .now))
        switch wake {
        case .now:
            condition.signal()
            condition.unlock()
        case .afterTick(let loop):
            // One wake per loop and tick, however many of its sessions finish a message
            // in it. Should the wake never run (a loop shutting down), the writer's
            // `tick` timeout still finds the message.
            let id = ObjectIdentifier(loop)
            let first = !loopsToWake.contains(id)
            if first { loopsToWake.append(id) }
            condition.unlock()
            if first { loop.execute { self.wake(after: id) } }
        }
    }

    /// Runs `job` on the writer thread between batches and returns its result: what
    /// happens there is ordered with every commit. Throws `closed` once the store closes.
    func perform<T: Sendable>(_ job: @escaping @Sendable (ArchiveJournal) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            condition.lock()
            guard !closing && !closed else {
                condition.unlock()
                continuation.resume(throwing: ArchiveStoreError.closed)
                return
            }
            jobs.append { journal in
                guard let journal else { return continuation.resume(throwing: ArchiveStoreError.closed) }
                continuation.resume(with: Result { try job(journal) })
            }
            condition.signal()
            condition.unlock()
        }
    }

    /// Messages waiting for the writer.
    var queuedCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    /// The end of a tick whose messages were enqueued with `.afterTick`.
    private func wake(after loop: ObjectIdentifier) {
        condition.lock()
        loopsToWake.removeAll { $0 == loop }
        condition.signal()
        condition.unlock()
    }

    /// Finishes queued commits, stops the thread and closes the files.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if closed {
                condition.unlock()
                continuation.resume()
                return
            }
            closing = true
            closeWaiters.append(continuation)
            condition.signal()
            condition.unlock()
        }
    }

    private func run() {
        guard let journal else { return }
        while true {
            condition.lock()
            while queue.isEmpty && jobs.isEmpty && !closing {
                // Nothing to commit: the moment to write zeros ahead of the records,
                // a step at a time, looking at the queue between steps.
                if journal.wantsPreallocation {
                    condition.unlock()
                    journal.preallocateAhead()
                    condition.lock()
                    continue
                }
                if !condition.wait(until: Date(timeIntervalSinceNow: tick)) { break }
            }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            let work = jobs
            jobs.removeAll()
            let stopping = closing && batch.isEmpty
            condition.unlock()
            for job in work { job(journal) }

            let now = Date()
            capacity.refreshIfDue()
            if stopping {
                journal.shutdown()
                condition.lock()
                closed = true
                let waiters = closeWaiters
                closeWaiters.removeAll()
                let late = jobs
                jobs.removeAll()
                condition.unlock()
                for job in late { job(nil) }
                for waiter in waiters { waiter.resume() }
                return
            }
            if batch.isEmpty {
                if !work.isEmpty { continue }
                journal.idleTick(now: now)
                continue
            }
            let results = journal.process(batch.map(\.message), now: now)
            tellObserver(batch, results)
            capacity.consumed(batch.reduce(0) { $0 + $1.message.storedSize })
            for case .failure(let error) in results {
                recentFault.withLock { $0 = (now, "\(error)") }
                break
            }
            let finished = ContinuousClock.now
            for (pending, result) in zip(batch, results) {
                metrics.appendLatency.recordElapsed(from: pending.enqueued, to: finished)
                pending.continuation.resume(with: result.mapError { $0 as any Error })
            }
        }
    }
}

extension GroupCommitter {
    /// Hands the batch's new records to the observer, in append order.
    private func tellObserver(_ batch: [Pending], _ results: [Result<ArchiveReceipt, ArchiveStoreError>]) {
        guard let observer = observer.withLock({ $0 }) else { return }
        var last: ArchivePosition?
        var forwarded: [ArchivedForwarding] = []
        for (pending, result) in zip(batch, results) {
            guard case .success(let receipt) = result, receipt.arrivalRecorded else { continue }
            // An arrival's record is the last its message wrote.
            last = max(last ?? receipt.arrivalPosition, receipt.arrivalPosition)
            let message = pending.message
            guard message.arrival.forwarding != nil else { continue }
            forwarded.append(ArchivedForwarding(position: receipt.arrivalPosition, arrival: message.arrival, message: message))
        }
        guard let last else { return }
        // Batch order is append order (`ArchiveJournal.process` appends in it).
        observer.archived(forwarded, through: last)
    }
}

extension Metrics.Timer {
    func recordElapsed(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) {
        let elapsed = end - start
        let nanos = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        recordNanoseconds(nanos)
    }
}
