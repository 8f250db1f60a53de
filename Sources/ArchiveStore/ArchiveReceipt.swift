/// The store's answer to `commit`: the arrival is durable (or was recorded before), and
/// so is its original.
public struct ArchiveReceipt: Sendable, Equatable {
    /// The original's archive id; for a duplicate, the id of the copy stored earlier.
    public var id: String
    /// True when the original (same SHA-256) was already archived; only its arrival was
    /// written, or nothing (`arrivalRecorded`).
    public var isDuplicate: Bool
    public var sha256: String
    /// Segment and offset of the original's record.
    public var segment: UInt64
    public var offset: Int
    /// The arrival's id: this one's, or, for a retry taken as an arrival recorded before
    /// (docs/FORMAT.md, "Arrivals"), that one's.
    public var arrivalID: String
    /// Where that arrival's record is: what the queue's entries for its copies refer to.
    public var arrivalPosition: ArchivePosition
    /// False when nothing was written for the arrival: it is one recorded before.
    public var arrivalRecorded: Bool
    /// How many commits shared the fdatasync that made this one durable (1 when nothing
    /// was written).
    public var batchSize: Int

    /// Where the original's record is.
    public var position: ArchivePosition { ArchivePosition(segment: segment, offset: offset) }
}

/// A problem found in the archive, named by segment file and byte offset.
public struct ArchiveFault: Sendable, Equatable, CustomStringConvertible {
    public var segment: String
    public var offset: Int?
    public var reason: String

    public init(segment: String, offset: Int?, reason: String) {
        self.segment = segment
        self.offset = offset
        self.reason = reason
    }

    public var description: String {
        if let offset { return "\(segment) offset \(offset): \(reason)" }
        return "\(segment): \(reason)"
    }
}

/// What `open` found and did. Torn tails are repaired (bytes copied aside, segment
/// truncated); faults are damage that was not repaired and needs an operator.
public struct RecoveryReport: Sendable {
    /// A torn tail cut off the active segment.
    public struct TruncatedTail: Sendable, Equatable {
        public var segment: String
        public var offset: Int
        public var bytesRemoved: Int
        /// Where the removed bytes were saved; nil when they were all zeros (the
        /// writer's preallocated space), which hold nothing to save.
        public var brokenFile: String?
    }

    public var segmentCount = 0
    public var truncatedTails: [TruncatedTail] = []
    public var faults: [ArchiveFault] = []
    /// Why the index was rebuilt from the segments, nil if it was sound.
    public var indexRebuildReason: String?
    /// Records added to the index during open (the tail after its checkpoint).
    public var recordsIndexed = 0
    /// Bytes of segment data read while catching the index up.
    public var bytesScanned = 0
    /// Segments whose expiry a crash had cut short, completed at open.
    public var expiriesFinished = 0

    public var indexRebuilt: Bool { indexRebuildReason != nil }
}
