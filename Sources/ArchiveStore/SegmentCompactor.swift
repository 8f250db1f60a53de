import Crypto
import DurableFiles
import Foundation

/// Removes records from a sealed segment (docs/FORMAT.md, "Expiry"). The segment is
/// rewritten with its header, its kept records moved together in their order, and its
/// footer; their list goes into `NNNNNNNN.expiry`. The index, the forward queue, arrival
/// records and the search database go on addressing records by their offsets as sealed,
/// which the list maps to where they are now (`SegmentFile`): none of them change.
///
/// One pass reads and checks the segment (as `check` does) and writes the kept records to
/// `NNNNNNNN.seg.tmp`, synced; nothing visible has changed yet. Then, each step durable
/// before the next, so a crash anywhere leaves either the segment as it was or a pending
/// list that `finishPending` completes (the rewrite again, from the list):
/// 1. the new list (earlier removals and these) to `NNNNNNNN.expiry.next`;
/// 2. the temporary file renamed over the segment (an evicted one is local again: its stub
///    is removed once the file is in place);
/// 3. `.expiry.next` renamed to `.expiry`.
enum SegmentCompactor {
    /// One record to remove: where it is and why. The compactor checks that a message or
    /// arrival record starts there, and records its length and hash.
    struct Removal: Equatable {
        var offset: Int
        var originalSHA256: [UInt8]
        var id: String
        var rule: String
        var expiredAt: Date
    }

    /// Removes `removals` from the sealed `segment` and returns its new expiry list. Refuses
    /// a segment that is damaged, does not match its seal (or, after an earlier expiry, its
    /// record-list digest), or has an expiry pending, and an offset that holds no message
    /// or arrival record: nothing is changed then. `after` is told of each durable step
    /// (the crash tests stop there).
    static func remove(
        _ removals: [Removal], from segment: SegmentDescriptor, directory: String, now: Date,
        faults: (any DurableFaultInjector)?, after: (ExpiryStep) throws -> Void = { _ in }
    ) throws -> ExpiryManifest {
        let earlier = segment.expiry?.removed ?? []
        let dropping = Set(removals.map(\.offset)).subtracting(earlier.map(\.offset))  // those removed before: a run resumed
        let temp = segment.path + ".tmp"
        var renamed = false
        defer { if !renamed && !dropping.isEmpty { try? Durable.unlinkIfPresent(temp, faults: faults) } }
        let listing = try check(segment, copyingTo: dropping.isEmpty ? nil : temp, without: dropping, faults: faults)
        guard let footer = segment.footer else { throw ArchiveStoreError.unrecoverable("\(segment.name) is not sealed") }
        var added: [RemovedRecord] = []
        for removal in removals where dropping.contains(removal.offset) {
            guard let kept = listing.kept[removal.offset], kept.kind != .dictionary else {
                throw ArchiveStoreError.unrecoverable("\(segment.name) offset \(removal.offset): no message or arrival record there")
            }
            added.append(RemovedRecord(offset: removal.offset, length: kept.length, kind: kept.kind, recordSHA256: kept.sha256,
                                       originalSHA256: removal.originalSHA256, id: removal.id, rule: removal.rule,
                                       expiredAt: removal.expiredAt, removedAt: now))
        }
        let manifest = ExpiryManifest(sequence: segment.sequence, sealedSHA256: footer.segmentHash, recordListDigest: listing.digest,
                                      sealedSize: segment.fileSize, removed: (earlier + added).sorted { $0.offset < $1.offset })
        guard !added.isEmpty else { return manifest }
        let pending = directory + "/" + SegmentName.pendingExpiry(segment.sequence)
        try Durable.writeAtomically(manifest.encode(), to: pending, faults: faults)
        try after(.listWritten)
        try Durable.rename(temp, to: segment.path, faults: faults)
        renamed = true
        try EvictionStub.removeIfPresent(directory: directory, sequence: segment.sequence, faults: faults)  // local again
        try after(.segmentRewritten)
        try Durable.rename(pending, to: directory + "/" + SegmentName.expiry(segment.sequence), faults: faults)
        try after(.listInstalled)
        return manifest
    }

    /// Reads the whole segment and checks it is as sealed: its SHA-256, or after an earlier
    /// expiry its record-list digest. Throws for a segment expiry must leave alone (not
    /// sealed, damaged, changed, its expiry list unreadable or pending).
    /// With `copyingTo`, the same pass writes the segment without the records at `without`
    /// (and those removed before) to that new file and syncs it; it is left to the caller.
    static func check(_ segment: SegmentDescriptor, copyingTo copy: String? = nil, without dropping: Set<Int> = [],
                      faults: (any DurableFaultInjector)? = nil) throws -> RecordListing {
        guard let footer = segment.footer else { throw ArchiveStoreError.unrecoverable("\(segment.name) is not sealed: expiry only rewrites sealed segments") }
        guard !segment.expiryPending else { throw ArchiveStoreError.unrecoverable("\(segment.name) has an expiry pending: finish it first") }
        if let problem = segment.expiryProblem { throw ArchiveStoreError.unrecoverable("\(segment.name): expiry list unreadable: \(problem)") }
        let listing = try RecordListing.read(segment, removed: segment.expiry?.removed ?? [], hashContents: segment.expiry == nil,
                                             copy: copy.map { RecordListing.Copy(path: $0, dropping: dropping, faults: faults) })
        if let manifest = segment.expiry {
            guard manifest.sealedSHA256 == footer.segmentHash, listing.digest == manifest.recordListDigest else {
                throw ArchiveStoreError.unrecoverable("\(segment.name) does not match its expiry list's record-list digest: left as it is")
            }
        } else if listing.contentSHA256 != footer.segmentHash {
            throw ArchiveStoreError.unrecoverable("\(segment.name) does not match its sealed SHA-256: left as it is")
        }
        return listing
    }

    /// Completes an expiry cut short (`SegmentDescriptor.expiryPending`): checks the kept
    /// records against the pending list's digest and, unless the file already is rewritten
    /// (its size tells: `SegmentCatalog`), writes it anew in the same pass, as `remove`
    /// does; renames it over the segment and installs the list.
    static func finishPending(_ segment: SegmentDescriptor, directory: String, faults: (any DurableFaultInjector)?) throws {
        let pending = directory + "/" + SegmentName.pendingExpiry(segment.sequence)
        guard let footer = segment.footer, let manifest = try ExpiryManifest.load(path: pending) else {
            try Durable.unlinkIfPresent(pending, faults: faults)  // an empty leftover: no step after it was taken
            return
        }
        let rewritten = segment.expiry == manifest
        let temp = segment.path + ".tmp"
        do {
            let listing = try RecordListing.read(segment, removed: manifest.removed, hashContents: false,
                                                 copy: rewritten ? nil : RecordListing.Copy(path: temp, dropping: [], faults: faults))
            guard manifest.sequence == segment.sequence, manifest.sealedSHA256 == footer.segmentHash,
                  manifest.sealedSize == segment.fileSize, listing.digest == manifest.recordListDigest else {
                throw ArchiveStoreError.unrecoverable("\(segment.name): the pending expiry list does not match the segment; left for an operator (\(pending))")
            }
            if !rewritten {
                try Durable.rename(temp, to: segment.path, faults: faults)
                try EvictionStub.removeIfPresent(directory: directory, sequence: segment.sequence, faults: faults)
            }
        } catch {
            if !rewritten { try? Durable.unlinkIfPresent(temp, faults: faults) }
            throw error
        }
        try Durable.rename(pending, to: directory + "/" + SegmentName.expiry(segment.sequence), faults: faults)
    }
}

/// Every record of a sealed segment as expiry sees it: the kept ones by offset with their
/// kind, length and SHA-256, and the record-list digest over them and the removed ones.
struct RecordListing {
    struct Kept {
        var kind: RecordKind
        var length: Int
        var sha256: [UInt8]
    }

    var kept: [Int: Kept] = [:]
    var digest: [UInt8] = []
    /// SHA-256 of the bytes before the footer, when asked for (a segment no expiry touched).
    var contentSHA256: [UInt8]?

    /// Where a listing pass also writes the segment anew: every byte but the records at
    /// `dropping` (and those the scan steps over), in order, into a new file at `path`.
    struct Copy {
        var path: String
        var dropping: Set<Int>
        var faults: (any DurableFaultInjector)?
    }

    /// Reads the segment's records (stepping over `removed`); throws if any bytes in
    /// between are not a valid record.
    static func read(_ segment: SegmentDescriptor, removed: [RemovedRecord], hashContents: Bool, copy: Copy? = nil) throws -> RecordListing {
        let file = try SegmentFile.open(segment)
        defer { file.close() }
        let end = segment.recordsEnd
        var listing = RecordListing()
        var content = SHA256()
        let header = try file.read(at: 0, count: SegmentHeader.size)
        if hashContents { content.update(data: header) }
        var output = try copy.map { try CopyOutput(path: $0.path, faults: $0.faults) }
        defer { output?.file.close() }
        try output?.append(header[...])
        var digest = RecordListDigest(removed: removed)
        let ranges = removed.ranges
        // As stored: expiry moves an encrypted segment's records without its key.
        let outcome = try SegmentScanner.scan(file, from: SegmentHeader.size, to: end, skipDamage: false, removed: ranges,
                                              decrypting: false) { offset, header, bytes, _ in
            if hashContents { content.update(data: bytes) }
            let sha = digest.add(offset: offset, bytes: bytes)
            listing.kept[offset] = Kept(kind: header.kind, length: header.recordLength, sha256: sha)
            if let dropping = copy?.dropping, !dropping.contains(offset) { try output?.append(bytes) }
        }
        if let damage = outcome.damages.first ?? outcome.tornTail {
            throw ArchiveStoreError.unrecoverable("\(segment.name) offset \(damage.offset): \(damage.reason); expiry leaves a damaged segment as it is")
        }
        listing.digest = digest.finalize()
        if hashContents { listing.contentSHA256 = Array(content.finalize()) }
        if var out = output {
            // The footer (and, after a sidecar seal, whatever follows its data).
            var offset = end
            while offset < file.size {
                let bytes = try file.read(at: offset, count: min(4 << 20, file.size - offset))
                guard !bytes.isEmpty else { throw FileIOError(operation: "read", path: segment.path, errno: EIO) }
                try out.append(bytes[...])
                offset += bytes.count
            }
            try out.finish()
        }
        return listing
    }

    /// The new file a listing pass writes, in 4 MiB writes.
    private struct CopyOutput {
        let file: SystemFile
        private var buffer: [UInt8] = []
        private var written = 0

        init(path: String, faults: (any DurableFaultInjector)?) throws {
            try Durable.unlinkIfPresent(path, faults: faults)
            file = try SystemFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, faults: faults)
            buffer.reserveCapacity(4 << 20)
        }

        mutating func append(_ bytes: ArraySlice<UInt8>) throws {
            buffer.append(contentsOf: bytes)
            if buffer.count >= 4 << 20 { try flush() }
        }

        mutating func flush() throws {
            guard !buffer.isEmpty else { return }
            try file.write(buffer[...], at: written)
            written += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }

        mutating func finish() throws {
            try flush()
            try file.sync()
        }
    }
}
