import Foundation

/// Where the bytes of a queued message are: a record in the archive, or a record in the
/// queue's own spool for a message that is forwarded without being archived.
public enum MessageReference: Sendable, Hashable, CustomStringConvertible {
    /// The record of the arrival whose bytes as received the copy carries.
    case archive(segment: UInt64, offset: Int)
    /// A spool file name under `queue/spool/`.
    case spool(String)

    /// An arrival's record in the archive (or, from before arrivals had records, a
    /// message record).
    public var isArchive: Bool {
        if case .archive = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .archive(let segment, let offset): return "archive:\(segment)@\(offset)"
        case .spool(let name): return "spool:\(name)"
        }
    }
}

/// A message to queue for one peer.
public struct QueueItem: Sendable, Equatable {
    /// The `PeerSettings.name` of the connection.
    public var connection: String
    public var reference: MessageReference
    /// Size of the original message in bytes (what the peer's SIZE is checked against).
    public var size: UInt64
    public var sender: String
    public var recipients: [String]
    /// Header bytes written before the message on the wire (the route engine's trace).
    public var prefix: [UInt8]

    public init(connection: String, reference: MessageReference, size: UInt64, sender: String,
                recipients: [String], prefix: [UInt8] = []) {
        self.connection = connection
        self.reference = reference
        self.size = size
        self.sender = sender
        self.recipients = recipients
        self.prefix = prefix
    }
}

/// An entry of a peer's queue: a durable item with its id and delivery state.
public struct QueueEntry: Sendable, Equatable {
    /// Increasing over the queue's life: the FIFO order of a connection.
    public var id: UInt64
    public var item: QueueItem
    public var enqueuedAt: Date
    /// Held entries are not delivered until released.
    public var isHeld = false
    public var attempts = 0
    public var nextAttempt: Date?
    /// When the last delivery attempt ended: an operator's retry waits `min_backoff` from it.
    public var lastAttemptAt: Date?
    public var lastError: String?

    public init(id: UInt64, item: QueueItem, enqueuedAt: Date) {
        self.id = id
        self.item = item
        self.enqueuedAt = enqueuedAt
    }
}

/// `admit`'s answer for one message and connection.
public enum Admission: Sendable, Equatable {
    case accept
    /// The queue is full and the connection refuses: answer 452 4.3.1.
    case full
    /// The queue is full and the connection skips this message (it is still archived).
    case dropForward
}

/// Errors of the forward queue, each naming what went wrong.
public enum ForwardQueueError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownConnection(String)
    case queueFull(connection: String)
    case notFound(id: UInt64)
    case locked(path: String)
    case closed
    case corruptJournal(String)
    case spoolUnavailable(String)
    case invalidSettings([String])

    public var description: String {
        switch self {
        case .unknownConnection(let name): return "no connection named \(name)"
        case .queueFull(let name): return "the queue of \(name) is full"
        case .notFound(let id): return "no queue entry \(id)"
        case .locked(let path): return "the queue is in use by a running node (lock \(path))"
        case .closed: return "the queue is closed"
        case .corruptJournal(let reason): return "queue journal damaged: \(reason)"
        case .spoolUnavailable(let reason): return "spool: \(reason)"
        case .invalidSettings(let problems): return "invalid connection settings: " + problems.joined(separator: "; ")
        }
    }
}
