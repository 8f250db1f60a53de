import DurableFiles

/// A segment file read at the offsets its records are addressed by (docs/FORMAT.md,
/// "Expiry"). Expiry moves the kept records of a sealed segment together and drops the
/// removed ones' bytes; the index, the search database, arrival references, the forward
/// queue and the footer go on addressing every record by its offset as sealed (its
/// logical offset). This view maps a logical offset to where the bytes are now and reads
/// the removed ranges as zeros, so scanning code sees the segment as sealed, less the
/// removed records' contents. A segment expiry never touched maps one to one. An evicted
/// segment is read the same way, its physical bytes fetched from the bucket (`SegmentStorage`).
struct SegmentFile {
    let storage: SegmentStorage
    /// How its records are stored: in the clear, or sealed with a key of the ring.
    let encryption: SegmentEncryption
    /// Logical size: the file's size as sealed (the file's own size plus `removedBytes`).
    let size: Int
    /// Records expiry removed, logical offset → length: scanners step over them.
    let removed: [Int: Int]
    private let spans: [RemovedSpan]

    private struct RemovedSpan {
        var offset: Int
        var length: Int
        /// Bytes removed before this span: how far its successors moved down.
        var before: Int
    }

    /// `removed` in offset order, not overlapping (ExpiryManifest.decode checks that).
    init(_ storage: SegmentStorage, physicalSize: Int, removed: [RemovedRecord], encryption: SegmentEncryption) {
        self.storage = storage
        self.encryption = encryption
        var spans: [RemovedSpan] = []
        var before = 0
        for r in removed {
            spans.append(RemovedSpan(offset: r.offset, length: r.length, before: before))
            before += r.length
        }
        self.spans = spans
        self.removed = removed.ranges
        self.size = physicalSize + before
    }

    /// A file expiry never touched (an active segment, a spool file): offsets as they are.
    init(unexpired file: SystemFile, encryption: SegmentEncryption = .clear) throws {
        self.init(.local(file), physicalSize: try file.size(), removed: [], encryption: encryption)
    }

    /// Opens the segment a descriptor describes (`SegmentCatalog.reopen`).
    static func open(_ segment: SegmentDescriptor) throws -> SegmentFile {
        try SegmentCatalog.reopen(segment).file
    }

    func close() { storage.close() }

    /// Up to `count` bytes at logical `offset` (fewer only at the end); removed ranges
    /// read as zeros.
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        guard !spans.isEmpty else { return try storage.read(at: offset, count: count) }
        let end = min(offset + count, size)
        guard offset < end else { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(end - offset)
        var position = offset
        var next = firstSpan(endingAfter: position)
        while position < end {
            if next < spans.count, spans[next].offset <= position {
                let stop = min(end, spans[next].offset + spans[next].length)
                out.append(contentsOf: repeatElement(0, count: stop - position))
                position = stop
                next += 1
                continue
            }
            let stop = next < spans.count ? min(end, spans[next].offset) : end
            let bytes = try storage.read(at: physical(position, removedBefore: next), count: stop - position)
            out.append(contentsOf: bytes)
            guard bytes.count == stop - position else { break }  // the file ends early: as pread does
            position = stop
        }
        return out
    }

    /// Where the byte at logical `offset` is in the file, given the index of the first
    /// removed span that does not end before it.
    private func physical(_ offset: Int, removedBefore next: Int) -> Int {
        guard next > 0 else { return offset }
        let previous = spans[next - 1]
        return offset - previous.before - previous.length
    }

    /// Index of the first removed span that ends after `offset` (binary search).
    private func firstSpan(endingAfter offset: Int) -> Int {
        var low = 0
        var high = spans.count
        while low < high {
            let mid = (low + high) / 2
            if spans[mid].offset + spans[mid].length <= offset { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// Whether a segment's records are encrypted, and with what (docs/FORMAT.md, "Encrypted
/// records"). Its records' lengths are known either way: CRCs, scanning and torn-tail
/// repair need no key; reading their contents does.
enum SegmentEncryption: Sendable {
    case clear
    case sealed(SegmentCipher)
    /// Encrypted with a key the ring does not hold: reading a record throws this.
    case keyMissing(SegmentKeyError)

    /// The encryption of segment `sequence`, whose header names `keyID`.
    init(keyID: UInt32, sequence: UInt64, keys: SegmentKeyRing) {
        do {
            self = try keys.cipher(keyID: keyID, sequence: sequence).map { .sealed($0) } ?? .clear
        } catch {
            self = .keyMissing(error)
        }
    }

    /// What each record holds beyond its plaintext contents.
    var sealedOverhead: Int {
        if case .clear = self { return 0 }
        return SegmentCipher.overhead
    }

    /// Why the segment's records cannot be read, if they cannot.
    var problem: SegmentKeyError? {
        if case .keyMissing(let error) = self { return error }
        return nil
    }
}
