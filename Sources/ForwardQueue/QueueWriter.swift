import ArchiveStore
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        case spool(name: String, bytes: [UInt8], CheckedContinuation<Void, any Error>)
    }

    private let condition = NSCondition()
    private var pending: [Work] = []
    private var closing = false
    private var closed = false
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []
    private let journal: QueueJournal
    private let logger: Logger
    /// How long records written without a sync wait, at most, when nothing else comes.
    static let idleSyncDelay: TimeInterval = 1

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

    /// Queues records for the next batch without waiting (removals after a 250: a crash
    /// before the sync only means the message is delivered again).
    func post(_ records: [JournalRecord]) {
        submit(.records(records, nil))
    }

    /// Writes a spool file and syncs it and its directory.
    func writeSpool(name: String, bytes: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            submit(.spool(name: name, bytes: bytes, continuation))
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
        condition.signal()
        condition.unlock()
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
            while pending.isEmpty && !closing {
                guard journal.needsSync else {
                    condition.wait()
                    continue
                }
                // Deliveries written without a sync: made durable once the queue is idle
                // for a moment, so their spool files do not wait for the next message.
                if !condition.wait(until: Date(timeIntervalSinceNow: Self.idleSyncDelay)) && pending.isEmpty {
                    condition.unlock()
                    do { try journal.sync() } catch {
                        // Never fsync the same file again after a failure: rewrite it from
                        // the durable state (those deliveries are then made again).
                        logger.error("queue journal sync failed; rewriting it from the last durable state", metadata: ["error": "\(error)"])
                        do { try journal.compact() } catch {
                            logger.critical("queue journal rewrite failed", metadata: ["error": "\(error)"])
                        }
                    }
                    condition.lock()
                }
            }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
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
            process(batch)
        }
    }

    private func process(_ batch: [Work]) {
        var spoolFailure: (any Error)?
        var spooled: [CheckedContinuation<Void, any Error>] = []
        var records: [JournalRecord] = []
        var waiting: [CheckedContinuation<Void, any Error>] = []
        for work in batch {
            switch work {
            case .spool(let name, let bytes, let continuation):
                do {
                    try writeSpoolFile(name: name, bytes: bytes)
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
                try QueueFiles.syncDirectory(journal.layout.spoolDirectory)
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
            for c in waiting { c.resume() }
        } catch {
            logger.error("queue journal write failed; rewriting it from the last durable state", metadata: ["error": "\(error)"])
            for c in waiting { c.resume(throwing: error) }
            do { try journal.compact() } catch {
                logger.critical("queue journal rewrite failed", metadata: ["error": "\(error)"])
            }
            return
        }
        if journal.isMostlyDead {
            do {
                try journal.sync()
                try journal.compact()
            } catch {
                logger.error("queue journal compaction failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func writeSpoolFile(name: String, bytes: [UInt8]) throws {
        let path = journal.layout.spoolPath(name)
        let fd = try QueueFiles.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { Glibc.close(fd) }
        try QueueFiles.write(fd, bytes, at: 0, path: path)
        try QueueFiles.dataSync(fd, path: path)
    }
}
