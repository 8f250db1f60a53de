/// The store's answer to `commit`: the message is durable (or was already archived).
public struct ArchiveReceipt: Sendable, Equatable {
    /// The archive id; for a duplicate, the id of the copy stored earlier.
    public var id: String
    /// True when an identical message (same SHA-256) was already archived; nothing new
    /// was written.
    public var isDuplicate: Bool
    public var sha256: String
    /// Segment and offset of the stored record.
    public var segment: UInt64
    public var offset: Int
    /// How many commits shared the fdatasync that made this one durable (1 for duplicates).
    public var batchSize: Int

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

    public var indexRebuilt: Bool { indexRebuildReason != nil }
}
