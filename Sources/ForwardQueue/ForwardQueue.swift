import ArchiveStore
import DurableFiles
import Foundation
import Logging
import NIOCore
import NIOPosix

/// Tuning knobs of the queue that are not per peer.
public struct ForwardQueueOptions: Sendable {
    /// The journal is compacted when larger than this and three quarters dead.
    public var compactionThreshold = 64 << 20
    /// Jitter of every backoff (tests inject a fixed source).
    public var jitter: any JitterSource = RandomJitter()
    /// Bytes of recently queued records kept in memory for delivery (`RecentMessages`);
    /// 0 reads every copy from disk.
    public var recentMessageBudget = 16 << 20
    /// Called (under the queue's lock, so keep it short) with the connection and id of
    /// every entry handed to a session, in dispatch order: tests check FIFO dispatch.
    public var dispatchObserver: (@Sendable (String, QueueEntry) -> Void)?
    /// Test hook told of every sync and removal of the queue's files (the same
    /// `DurableFaultInjector` the archive takes); nil in production.
    public var faultInjector: (any DurableFaultInjector)?

    public init() {}
}

/// One persistent FIFO queue per outgoing connection (peer), delivered by `run()`.
///
/// An entry references the archived record (or a spool record for a message that is not
/// archived). `enqueue` returns once the entries are durable (group-committed journal);
/// entries for a promise in an archive record come from `archived`, once whoever builds
/// the node has made the queue the archive's commit observer
/// (`archive.observeCommits(queue)`), and need no sync of their own. An entry leaves after
/// the peer's 250 to the final dot. Format: docs/FORMAT.md.
public final class ForwardQueue: Sendable {
    public let layout: QueueLayout
    public let nodeID: String
    public let replayReport: JournalReplayReport
    let archive: ArchiveStore?
    let logger: Logger
    let options: ForwardQueueOptions
    let writer: QueueWriter
    /// Under a pthread mutex (`LockedValue`), which ThreadSanitizer can see.
    let book: LockedValue<QueueBook>
    private let lock: DirectoryLock
    let dictionaryCache = SegmentReadCache()
    let recent: RecentMessages

    /// The in-memory queues, guarded by `book`.
    struct QueueBook {
        var peers: [String: PeerQueue] = [:]
        var configured: Set<String> = []
        var metrics: [String: QueueMetrics] = [:]
        var nextID: UInt64 = 1
        var faults: [String] = []
        /// Bumped by `configure`; the delivery supervisor restarts workers when it moves.
        var generation = 0
        /// Bumped by `reloadCertificates`: connections that read TLS files read them again.
        var certificateEpoch = 0
        /// Idle workers, the supervisor and `waitForDelivery` callers (`Sleepers`).
        var sleepers = Sleepers()
        /// When `archived` last posted an `archivedThrough` for a batch without promises.
        var archivedThroughPostedAt: Date?
    }

    private init(layout: QueueLayout, nodeID: String, report: JournalReplayReport, archive: ArchiveStore?, logger: Logger,
                 options: ForwardQueueOptions, writer: QueueWriter, book: QueueBook, lock: DirectoryLock) {
        self.layout = layout
        self.nodeID = nodeID
        self.replayReport = report
        self.archive = archive
        self.logger = logger
        self.options = options
        self.writer = writer
        self.book = LockedValue(book)
        self.lock = lock
        self.recent = RecentMessages(budget: options.recentMessageBudget)
    }

    /// Takes `queue/LOCK`, replays the journal (a torn tail is cut and saved aside) and
    /// loads every entry. Entries of connections not in `peers` are kept, not delivered.
    /// With an `archive`, queues the promises of its records that a crash kept out of the
    /// journal and reads archived copies from it; the caller then makes the queue the
    /// archive's commit observer before the archive takes new messages.
    public static func open(dataDirectory: String, peers: [PeerSettings], archive: ArchiveStore?, nodeID: String,
                            options: ForwardQueueOptions = ForwardQueueOptions(), logger: Logger) async throws -> ForwardQueue {
        try Self.validate(peers)
        let layout = QueueLayout(dataDirectory: dataDirectory)
        let (lock, journal, report) = try await NIOThreadPool.singleton.runIfActive {
            let lock = try layout.takeLock()
            let (journal, report) = try QueueJournal.open(layout: layout, compactionThreshold: options.compactionThreshold,
                                                          faults: options.faultInjector)
            if let archive { try Self.takeMissedPromises(from: archive, into: journal, logger: logger) }
            return (lock, journal, report)
        }
        var book = QueueBook()
        for settings in peers {
            book.peers[settings.name] = PeerQueue(settings: settings)
            book.configured.insert(settings.name)
        }
        for entry in journal.image.orderedEntries { book.peers.add(entry) }
        for name in book.peers.keys { book.metrics[name] = QueueMetrics(connection: name) }
        book.nextID = journal.image.nextID
        book.faults = report.faults
        for fault in report.faults { logger.error("forward queue journal damaged", metadata: ["fault": "\(fault)"]) }
        if let offset = report.truncatedAt {
            logger.warning("forward queue journal had a torn tail; cut", metadata: ["offset": "\(offset)", "bytes": "\(report.bytesRemoved)"])
        }
        let unconfigured = book.peers.keys.filter { !book.configured.contains($0) }
        if !unconfigured.isEmpty {
            logger.warning("queue entries for connections not configured are kept, not delivered", metadata: ["connections": "\(unconfigured.sorted())"])
        }
        let writer = QueueWriter(journal: journal, logger: logger)
        return ForwardQueue(layout: layout, nodeID: nodeID, report: report, archive: archive, logger: logger,
                            options: options, writer: writer, book: book, lock: lock)
    }

    private static func validate(_ peers: [PeerSettings]) throws {
        let problems = peers.flatMap(\.problems)
        guard problems.isEmpty else { throw ForwardQueueError.invalidSettings(problems) }
        guard Set(peers.map(\.name)).count == peers.count else { throw ForwardQueueError.invalidSettings(["two connections share a name"]) }
    }

    /// Applies the connections of a reloaded configuration: new ones start delivering,
    /// changed ones restart their sessions with the new settings, removed ones keep their
    /// entries (listed by `queue dump`, not delivered) until they are configured again.
    public func configure(peers: [PeerSettings]) throws {
        try Self.validate(peers)
        book.withLock { book in
            book.configured = Set(peers.map(\.name))
            for settings in peers {
                if book.peers[settings.name] == nil {
                    book.peers[settings.name] = PeerQueue(settings: settings)
                    book.metrics[settings.name] = QueueMetrics(connection: settings.name)
                } else {
                    book.peers[settings.name]?.reconfigure(settings)
                }
            }
            book.generation += 1
        }
        wake(.supervision)
        wakeAllWorkers()
    }

    /// Reads the TLS files of every connection that has some (`ca_file`, a client
    /// certificate and key) again, for `kill -HUP` after a renewal: its workers restart with
    /// a context made from the new files, unless they do not load, in which case the
    /// connection keeps the context it has (and the log says why).
    public func reloadCertificates() {
        book.withLock { book in
            book.certificateEpoch += 1
            book.generation += 1
        }
        wake(.supervision)
    }

    /// Waits until a peer answered 250 to a copy of the message stored at `reference`
    /// (no copy of it queued counts too: the only other way out is an operator's
    /// `queue delete`). False at `timeout`, or at once when the caller is cancelled.
    public func waitForDelivery(of reference: MessageReference, timeout: Duration) async -> Bool {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        return await sleep(on: loop) { book in
            book.holdsCopy(of: reference) ? .sleep(.delivery(reference), until: deadline) : .answer(true)
        }
    }

    /// The cheap synchronous check for the listener: may a message of `size` bytes be
    /// queued for `connection`? `.full` means refuse with 452 4.3.1 (also the answer for a
    /// connection that is not configured). The bounds are checked here, not in `enqueue`,
    /// so messages admitted at the same moment may overshoot them by that many.
    public func admit(connection: String, size: UInt64) -> Admission {
        book.withLock { book in
            guard let queue = book.peers[connection], book.configured.contains(connection) else { return .full }
            let answer = queue.admit(size: size)
            if answer == .dropForward {
                book.peers[connection]?.droppedWhenFull += 1
                book.metrics[connection]?.dropped.increment()
                let dropped = book.peers[connection]?.droppedWhenFull ?? 0
                if dropped == 1 || dropped.isMultiple(of: 1000) {
                    logger.warning("forward queue full: archiving without forwarding", metadata: ["connection": "\(connection)", "dropped": "\(dropped)"])
                }
            }
            return answer
        }
    }

    /// Queues `items` and returns their ids once they are durable. `message`, the message
    /// they forward, is kept in memory for a while so its delivery need not read it back.
    @discardableResult
    public func enqueue(_ items: [QueueItem], message: FinishedMessage? = nil) async throws -> [UInt64] {
        let now = Date()
        let entries: [QueueEntry] = try book.withLock { book in
            for item in items where book.peers[item.connection] == nil || !book.configured.contains(item.connection) {
                throw ForwardQueueError.unknownConnection(item.connection)
            }
            return items.map { item in
                defer { book.nextID += 1 }
                return QueueEntry(id: book.nextID, item: item, enqueuedAt: now)
            }
        }
        try await writer.commit(entries.map { .enqueue($0) })
        // Before the entries become visible to the delivery workers.
        if let message { recent.keep(message, asArrival: entries.contains { $0.item.reference.isArchive }, for: entries.map(\.id)) }
        book.withLock { book in
            for entry in entries { book.peers[entry.item.connection]?.add(entry) }
            return book.sleepers.removeWorkers(for: entries)
        }.resume(woken: true)
        return entries.map(\.id)
    }

    /// Keeps a message that is forwarded but not archived, in the archive's record format,
    /// durably; the reference goes into the `QueueItem`s of its peers.
    public func spool(_ message: FinishedMessage) async throws -> MessageReference {
        let name = "\(message.id)-\(UUID().uuidString.prefix(8).lowercased()).rec"
        try await writer.writeSpool(name: name, message: message)
        return .spool(name)
    }

    /// The bytes an entry's copy carries, checked against their SHA-256: an arrival's as
    /// received (an older entry's: the original it refers to), or a spooled message.
    func loadOriginal(_ reference: MessageReference) async throws -> [UInt8] {
        let layout = self.layout
        let archive = self.archive
        let dictionaryCache = self.dictionaryCache
        return try await NIOThreadPool.singleton.runIfActive {
            switch reference {
            case .archive(let segment, let offset):
                if let archive { return try archive.readAsReceived(segment: segment, offset: offset) }
                return try ArchiveStore.readAsReceived(archiveDirectory: layout.archiveDirectory,
                                                       at: ArchivePosition(segment: segment, offset: offset), dictionaries: dictionaryCache)
            case .spool(let name):
                let bytes = try Durable.readAllIfPresent(layout.spoolPath(name))
                guard !bytes.isEmpty else { throw ForwardQueueError.spoolUnavailable("\(name) is missing") }
                return try RecordCodec.decodeStandalone(bytes[...]).original()
            }
        }
    }

    /// Writes what is pending, closes the journal and releases the lock. Call after `run`
    /// has returned, and after `archive.stopObservingCommits(queue)`. Whoever still waits
    /// for a delivery gets false.
    public func close() async {
        book.withLock { book in book.sleepers.removeAll { _ in true } }.resume(woken: false)
        await writer.close()
        lock.release()
    }
}
