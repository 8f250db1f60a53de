import Crypto
import DurableFiles
import Foundation

/// Appends records to the active segment and seals it. Owned by the writer thread.
///
/// Durability contract: `append` only writes; nothing is durable until `sync` returns.
/// After any failed write or sync the writer is `poisoned` and must be abandoned, never
/// synced again: after a failed fsync Linux may have dropped the dirty pages and a retry
/// would report success for data that is gone.
final class SegmentWriter {
    let directory: String
    let sequence: UInt64
    let createdAt: Date
    let previousSealHash: [UInt8]
    /// Whether records are encrypted, and with which key (docs/FORMAT.md, "Encrypted records").
    let encryption: SegmentEncryption
    let keyID: UInt32
    private let file: SystemFile
    /// The store's test hook (nil in production).
    private let faults: (any DurableFaultInjector)?
    /// End of the bytes written so far.
    private(set) var size: Int
    /// End of the bytes covered by the last successful sync.
    private(set) var durableSize: Int
    /// End of the file: records end at `size`, zeros written ahead of them fill the rest.
    private(set) var allocatedEnd: Int
    /// After a failed extension of the zeros, the record size to reach before the next try.
    private var retryPreallocationAt = 0
    private(set) var poisoned = false
    /// SHA-256 and record count of the bytes appended so far, for the footer, so sealing
    /// does not read the segment back (a 256 MiB segment held the writer thread, and
    /// every commit behind it, for about a second). Nil for a segment resumed after a
    /// restart: its seal hashes the file as recovery left it.
    private var running: (hash: SHA256, records: UInt64)?
    /// Dictionaries written at the start of this segment, the newest of them, and whether
    /// any message record follows them (after which no dictionary may be added).
    var dictionaries = SegmentDictionaries()
    var newestDictionary: ZstdDictionary?
    var hasMessages = false

    var path: String { file.path }
    var hasRecords: Bool { size > SegmentHeader.size }

    private init(directory: String, sequence: UInt64, createdAt: Date, previousSealHash: [UInt8], keyID: UInt32,
                 encryption: SegmentEncryption, file: SystemFile, size: Int, header: [UInt8]?, faults: (any DurableFaultInjector)?) {
        self.directory = directory
        self.keyID = keyID
        self.encryption = encryption
        self.faults = faults
        self.sequence = sequence
        self.createdAt = createdAt
        self.previousSealHash = previousSealHash
        self.file = file
        self.size = size
        self.durableSize = size
        self.allocatedEnd = size
        if let header {
            var hash = SHA256()
            hash.update(data: header)
            running = (hash, 0)
        }
    }

    /// Creates segment `sequence` crash-safely: header to a temp file, fsync, rename,
    /// fsync the directory. A crash leaves either no segment or a complete header. With a
    /// `key`, its records are encrypted with it.
    static func create(directory: String, sequence: UInt64, previousSealHash: [UInt8], now: Date, key: SegmentKey?,
                       faults: (any DurableFaultInjector)?) throws -> SegmentWriter {
        let header = SegmentHeader(sequence: sequence, createdAt: now, previousSealHash: previousSealHash, keyID: key?.id ?? 0)
        let path = directory + "/" + SegmentName.file(sequence)
        let encoded = header.encode()
        try Durable.writeAtomically(encoded, to: path, faults: faults)
        let file = try SystemFile.open(path, flags: O_WRONLY, faults: faults)
        let encryption = key.map { SegmentEncryption.sealed(SegmentCipher(key: $0, sequence: sequence)) } ?? .clear
        return SegmentWriter(directory: directory, sequence: sequence, createdAt: header.createdAt, previousSealHash: previousSealHash,
                             keyID: header.keyID, encryption: encryption, file: file, size: SegmentHeader.size, header: encoded, faults: faults)
    }

    /// Reopens an unsealed segment whose valid records end at `validEnd` (recovery has
    /// already truncated anything after it).
    /// already truncated anything after it). `keys` decide whether it can take records:
    /// one encrypted with a key the ring no longer holds is only sealed (`canAppend`).
    static func resume(directory: String, header: SegmentHeader, path: String, validEnd: Int, keys: SegmentKeyRing,
                       faults: (any DurableFaultInjector)?) throws -> SegmentWriter {
        let file = try SystemFile.open(path, flags: O_WRONLY, faults: faults)
        return SegmentWriter(directory: directory, sequence: header.sequence, createdAt: header.createdAt,
                             previousSealHash: header.previousSealHash, keyID: header.keyID,
                             encryption: SegmentEncryption(keyID: header.keyID, sequence: header.sequence, keys: keys),
                             file: file, size: validEnd, header: nil, faults: faults)
    }

    /// Whether records can be appended: its key is at hand (or it has none).
    var canAppend: Bool { encryption.problem == nil }

    /// Where a record went, and its length on disk (an encrypted record is longer than in the clear).
    struct WrittenRecord {
        var offset: Int
        var length: Int
    }

    /// Writes one encoded record at the end (encrypted if the segment is).
    func append(_ record: [UInt8]) throws -> WrittenRecord {
        try appendStored(try encrypted { try $0.seal(record) } ?? record)
    }

    /// Writes a draft's record at the end, straight from its blocks and spill file (in an
    /// encrypted segment, sealed in one piece first). A failure part way (a write, or a
    /// read of the spill file) poisons the writer like any failed write: the record's
    /// first bytes may be written.
    func append(_ record: RecordBuffer) throws -> WrittenRecord {
        if let sealed = try encrypted({ try $0.seal(record) }) { return try appendStored(sealed) }
        let offset = size
        do {
            try record.forEachPiece { try write($0) }
        } catch {
            poisoned = true
            throw error
        }
        running?.records += 1
        return WrittenRecord(offset: offset, length: size - offset)
    }

    /// Writes a record's bytes as they go on disk.
    private func appendStored(_ stored: [UInt8]) throws -> WrittenRecord {
        let offset = try stored.withUnsafeBytes { try write($0) }
        running?.records += 1
        return WrittenRecord(offset: offset, length: stored.count)
    }

    /// `seal`'s result in an encrypted segment, nil in a plaintext one. Sealing happens
    /// here, on the writer thread, because only here is the record's segment (its key and
    /// sequence, which the tag covers) known.
    private func encrypted(_ seal: (SegmentCipher) throws -> [UInt8]) throws -> [UInt8]? {
        switch encryption {
        case .clear: return nil
        case .sealed(let cipher): return try seal(cipher)
        case .keyMissing(let error): throw error
        }
    }

    @discardableResult
    private func write(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        guard !poisoned else { throw FileIOError(operation: "append", path: path, errno: EIO) }
        let offset = size
        do {
            try file.write(bytes, at: offset)
        } catch {
            poisoned = true
            throw error
        }
        size += bytes.count
        running?.hash.update(bufferPointer: bytes)
        return offset
    }

    /// fdatasync: makes every appended record durable. fdatasync also flushes a change
    /// of the file's size, so fsync is not needed here; the preallocated zeros make such a
    /// change rare.
    func sync(extending: Bool = true, idle: Bool = false) throws {
        guard !poisoned else { throw FileIOError(operation: "fdatasync", path: path, errno: EIO) }
        if extending, allocatedEnd - size < Self.preallocationStep / 4 { preallocate(to: size + Self.preallocation) }
        do {
            if idle { try faults?.beforeIdleSync() } else { try faults?.beforeSync() }
            try file.dataSync()
        } catch {
            poisoned = true
            throw error
        }
        durableSize = size
    }

    /// Bytes of zeros kept written ahead of the records.
    static let preallocation = 1 << 20
    /// The zeros one idle extension writes and syncs at most.
    static let preallocationStep = 256 << 10
    private static let zeros = [UInt8](repeating: 0, count: preallocation)

    /// Whether the writer, with nothing to commit, should write zeros ahead
    /// (`preallocateAhead`): a whole step is missing from the window.
    var wantsPreallocation: Bool {
        !poisoned && size >= retryPreallocationAt && size + Self.preallocation - allocatedEnd >= Self.preallocationStep
    }

    /// Idle work: writes one step of zeros ahead and syncs them, so that the commits to
    /// come overwrite blocks that exist already and their fdatasync flushes data only.
    ///
    /// Why not inside a commit: writing and syncing a step of zeros takes many times a
    /// commit's own sync, and the messages of that batch would wait for it; once every few
    /// hundred commits, that was the p99 of acknowledgment. A
    /// commit extends the zeros itself only when idle moments did not keep up (under a
    /// load that never lets the queue empty) and fewer than a quarter step remain.
    /// A failed sync poisons the writer like any other.
    func preallocateAhead() throws {
        guard wantsPreallocation else { return }
        preallocate(to: min(max(size, allocatedEnd) + Self.preallocationStep, size + Self.preallocation))
        try sync(extending: false, idle: true)
    }

    /// Keeps zeros written after the records up to `end`, so that nearly every
    /// fdatasync flushes data blocks only: appending past the end changes the file's size
    /// and extents, and fdatasync then writes the inode as well (a second device write and
    /// cache flush per batch). Written zeros, not fallocate: ext4 converts fallocated extents on their
    /// first write, which is a metadata change again. Recovery knows an all-zero tail
    /// (FORMAT.md, "Preallocated tail"). A failed extension (ENOSPC) is not an error: the
    /// zeros carry nothing. Whatever part of them was written is cut again, so they never
    /// take the last free space from records (or trip the free-space threshold early), and
    /// the next try waits for another `preallocation` of records.
    private func preallocate(to end: Int) {
        guard size >= retryPreallocationAt else { return }
        let start = max(size, allocatedEnd)
        guard end > start else { return }
        do {
            try file.write(Self.zeros[0..<(end - start)], at: start)
            allocatedEnd = end
        } catch {
            try? file.truncate(to: start)
            allocatedEnd = start
            retryPreallocationAt = size + Self.preallocation
        }
    }

    /// Drops the preallocated zeros: the file ends at its last record again.
    private func trimPreallocation() throws {
        guard allocatedEnd > size else { return }
        do {
            try file.truncate(to: size)
        } catch {
            poisoned = true
            throw error
        }
        allocatedEnd = size
    }

    /// Appends the footer right after the last record and syncs; the segment is immutable
    /// afterwards.
    func seal() throws -> SegmentFooter {
        try sync(extending: false)
        try trimPreallocation()
        let footer: SegmentFooter
        if let running {
            footer = SegmentFooter(recordCount: running.records, dataLength: UInt64(size),
                                   segmentHash: Array(running.hash.finalize()), previousSealHash: previousSealHash)
        } else {
            footer = try SegmentCatalog.computeFooter(path: path, dataLength: size, previousSealHash: previousSealHash,
                                                      encryption: encryption)
        }
        _ = try footer.encode().withUnsafeBytes { try write($0) }
        try sync(extending: false)
        file.close()
        return footer
    }

    /// Gives up on this file after an I/O error: the durable prefix is sealed by a
    /// sidecar `.seal` file (a new file, written crash-safely), so nothing is ever synced
    /// through this descriptor again and the hash chain continues. Bytes after
    /// `durableSize` (the failed batch, never acknowledged) are outside the seal, which is
    /// why it hashes the file rather than using `running`.
    func abandon() throws -> SegmentFooter {
        file.close()
        let footer = try SegmentCatalog.computeFooter(path: path, dataLength: durableSize, previousSealHash: previousSealHash,
                                                      encryption: encryption)
        try Durable.writeAtomically(footer.encode(), to: directory + "/" + SegmentName.seal(sequence), faults: faults)
        return footer
    }

    /// A clean close leaves the segment ending at its last record (the next open resumes
    /// it). Not after an I/O error: a poisoned file is never synced again.
    func close() {
        if !poisoned, allocatedEnd > size, (try? trimPreallocation()) != nil {
            try? file.dataSync()
        }
        file.close()
    }
}
