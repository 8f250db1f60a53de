import ArchiveStore
import DurableFiles
import Foundation
import Logging

/// The queue's writer thread and group commit, like the archive's `GroupCommitter`: callers
/// hand over journal records (and spool files) and suspend; the thread takes everything
/// pending, writes it, syncs once and resumes them all. Blocking syscalls never run on the
/// cooperative pool.
///
/// `@unchecked Sendable`: `pending` is guarded by `condition`; the journal is touched only
/// by the writer thread.
final class QueueWriter: @unchecked Sendable {
    private enum Work {
        case records([JournalRecord], CheckedContinuation<Void, any Error>?)
        case spool(name: String, message: FinishedMessage, CheckedContinuation<Void, any Error>)
    }

    private let condition = NSCondition()
    private var pending: [Work] = []
    /// Someone waits on pending work (a commit or a spool file): write it at once.
    private var urgent = false
    /// When the oldest posted record still pending arrived.
    private var postedSince: Date?
    /// When the oldest record written without a sync was written (writer thread only).
    private var unsyncedSince: Date?
    /// The thread waits with no deadline (nothing pending, nothing unsynced): the first
    /// post wakes it, else that post would wait for the next commit.
    private var sleepsWithoutDeadline = false
    private var closing = false
    private var closed = false
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []
    private let journal: QueueJournal
    private let logger: Logger
    /// How long records written without a sync wait, at most, for a sync.
    static let syncDelay: TimeInterval = 1
    /// Posted records are written together, this long after the first of them at most
    /// (or once this many are pending): posting wakes no thread.
    static let postDelay: TimeInterval = 0.05
    static let postBatch = 256

    init(journal: QueueJournal, logger: Logger) {
        self.journal = journal
        self.logger = logger
        DedicatedThread.start(name: "queue-writer") { [self] in run() }
    }

    /// Returns once `records` are durable.
    func commit(_ records: [JournalRecord]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            submit(.records(records, continuation))
        }
    }

    /// Queues records for a later write, without waiting and without waking the writer.
    /// For records a crash may lose: removals after a 250 (the message is delivered
    /// again), and entries of promises the archive keeps (taken from it at the next start).
    func post(_ records: [JournalRecord]) {
        submit(.records(records, nil))
    }

    /// Writes a spool file and syncs it and its directory.
    func writeSpool(name: String, message: FinishedMessage) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            submit(.spool(name: name, message: message, continuation))
        }
    }

    private func submit(_ work: Work) {
        condition.lock()
        guard !closing && !closed else {
            condition.unlock()
            switch work {
            case .records(_, let c): c?.resume(throwing: ForwardQueueError.closed)
            case .spool(_, _, let c): c.resume(throwing: ForwardQueueError.closed)
            }
            return
        }
        pending.append(work)
        if case .records(_, nil) = work {
            if postedSince == nil { postedSince = Date() }
            if pending.count >= Self.postBatch || sleepsWithoutDeadline { condition.signal() }
        } else {
            urgent = true
            condition.signal()
        }
        condition.unlock()
    }

    /// For tests: the thread waits for work with no deadline.
    var isIdle: Bool {
        condition.lock()
        defer { condition.unlock() }
        return sleepsWithoutDeadline
    }

    /// Writes what is pending, stops the thread and closes the journal.
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
        while true {
            condition.lock()
            waitForWork()
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            urgent = false
            postedSince = nil
            let stopping = closing && batch.isEmpty
            condition.unlock()
            if stopping {
                journal.close()
                condition.lock()
                closed = true
                let waiters = closeWaiters
                closeWaiters.removeAll()
                condition.unlock()
                for waiter in waiters { waiter.resume() }
                return
            }
            if !batch.isEmpty { process(batch) }
            if let since = unsyncedSince, Date().timeIntervalSince(since) >= Self.syncDelay { syncWritten() }
        }
    }

    /// Waits, with `condition` locked, until there is work to do: urgent work, posted
    /// records that have waited `postDelay` (or are many), written records that have
    /// waited `syncDelay` for a sync, or closing.
    private func waitForWork() {
        while !closing && !urgent {
            let now = Date()
            var wake: Date?
            if let since = postedSince {
                let due = since.addingTimeInterval(Self.postDelay)
                if due <= now || pending.count >= Self.postBatch { return }
                wake = due
            }
            if let since = unsyncedSince {
                let due = since.addingTimeInterval(Self.syncDelay)
                if due <= now { return }
                wake = min(wake ?? due, due)
            }
            if let wake {
                _ = condition.wait(until: wake)
            } else {
                sleepsWithoutDeadline = true
                condition.wait()
                sleepsWithoutDeadline = false
            }
        }
    }

    /// Syncs records written without one.
    private func syncWritten() {
        unsyncedSince = nil
        do { try journal.sync() } catch {
            // Never fsync the same file again after a failure: rewrite it.
            logger.error("queue journal sync failed; rewriting it", metadata: ["error": "\(error)"])
            do { try journal.compact() } catch {
                logger.critical("queue journal rewrite failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func process(_ batch: [Work]) {
        var spoolFailure: (any Error)?
        var spooled: [CheckedContinuation<Void, any Error>] = []
        var records: [JournalRecord] = []
        var waiting: [CheckedContinuation<Void, any Error>] = []
        for work in batch {
            switch work {
            case .spool(let name, let message, let continuation):
                do {
                    try writeSpoolFile(name: name, message: message)
                    spooled.append(continuation)
                } catch {
                    continuation.resume(throwing: error)
                    spoolFailure = error
                }
            case .records(let list, let continuation):
                records += list
                if let continuation { waiting.append(continuation) }
            }
        }
        if !spooled.isEmpty {
            do {
                try Durable.syncDirectory(journal.layout.spoolDirectory, faults: journal.faults)
                for c in spooled { c.resume() }
            } catch {
                for c in spooled { c.resume(throwing: error) }
            }
        }
        if let spoolFailure { logger.error("queue spool write failed", metadata: ["error": "\(spoolFailure)"]) }
        do {
            // Records that only were posted (deliveries, after the peer's 250) need no
            // fdatasync of their own: the next commit someone waits for makes them durable,
            // and a crash before it only means those messages are delivered again.
            try journal.commit(records, sync: !waiting.isEmpty)
            if !journal.needsSync {
                unsyncedSince = nil
            } else if unsyncedSince == nil {
                unsyncedSince = Date()
            }
            for c in waiting { c.resume() }
        } catch {
            logger.error("queue journal write failed; rewriting it", metadata: ["error": "\(error)"])
            for c in waiting { c.resume(throwing: error) }
            unsyncedSince = nil
            do { try journal.compact() } catch {
                logger.critical("queue journal rewrite failed", metadata: ["error": "\(error)"])
            }
            return
        }
        if journal.isMostlyDead {
            do {
                try journal.sync()
                try journal.compact()
                unsyncedSince = nil
            } catch {
                logger.error("queue journal compaction failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func writeSpoolFile(name: String, message: FinishedMessage) throws {
        let path = journal.layout.spoolPath(name)
        let file = try SystemFile.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, faults: journal.faults)
        defer { file.close() }
        try message.writeStandaloneRecord(to: file)
        try file.dataSync()
    }
}
