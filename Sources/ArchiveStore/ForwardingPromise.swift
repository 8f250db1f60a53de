/// What a node promised, when it recorded an arrival, to forward: the leading header
/// fields of the copies and, per connection, the recipients. The promise is part of the
/// arrival's record, so the fdatasync that makes the record durable makes the promise
/// durable too. The forward queue therefore writes its entries for it without a sync of
/// its own, and after a crash takes the promises its journal lacks from the archive
/// (docs/ARCHITECTURE.md, "One fdatasync per forwarded message").
public struct ForwardingPromise: Sendable, Equatable {
    public struct Copy: Sendable, Equatable {
        public var connection: String
        public var recipients: [String]

        public init(connection: String, recipients: [String]) {
            self.connection = connection
            self.recipients = recipients
        }
    }

    /// Header fields every copy starts with (the node's trace and Received fields).
    public var prefix: [UInt8]
    public var copies: [Copy]

    public init(prefix: [UInt8], copies: [Copy]) {
        self.prefix = prefix
        self.copies = copies
    }
}

/// Where a record starts: its segment's sequence number and its byte offset there.
/// Ordered as the records were appended.
public struct ArchivePosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var segment: UInt64
    public var offset: Int

    public init(segment: UInt64, offset: Int) {
        self.segment = segment
        self.offset = offset
    }

    public static func < (a: ArchivePosition, b: ArchivePosition) -> Bool {
        (a.segment, a.offset) < (b.segment, b.offset)
    }

    public var description: String { "\(SegmentName.file(segment))@\(offset)" }
}

/// A durable arrival record that carries a forwarding promise.
public struct ArchivedForwarding: Sendable {
    /// Where the arrival's record is: what the queue's entries refer to.
    public var position: ArchivePosition
    /// The arrival; `forwarding` is set.
    public var arrival: Arrival
    /// The message as committed, for delivery from memory; nil when read back from a
    /// segment. Its body is copied out (`record`) only for what the queue keeps in memory.
    public var message: FinishedMessage?

    public init(position: ArchivePosition, arrival: Arrival, message: FinishedMessage? = nil) {
        self.position = position
        self.arrival = arrival
        self.message = message
    }
}

/// Learns of every batch of records the moment it is durable, on the archive's writer
/// thread and before any committer of the batch resumes: the forward queue, which queues
/// the promises there, in the order the records were appended. Whoever builds the node
/// sets it (`ArchiveStore.observeCommits`); the archive knows nothing of the queue.
public protocol ArchiveCommitObserver: AnyObject, Sendable {
    /// `forwarded`: the batch's new records that carry a promise, in append order.
    /// `last`: the position of the batch's last new record. Runs while the batch's
    /// replies wait: it must not block.
    func archived(_ forwarded: [ArchivedForwarding], through last: ArchivePosition)
}
