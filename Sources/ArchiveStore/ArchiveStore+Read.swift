import DurableFiles
import Foundation

/// Reading one record by its location (segment and offset from an `ArchiveReceipt`), for
/// the forward queue: its entries point into the archive instead of copying the message.
extension ArchiveStore {
    /// The bytes as received of the arrival whose record is at `offset` in segment
    /// `segment` (a message record: of the first arrival it holds), checksummed and
    /// verified against the recorded SHA-256. Safe while the store writes: an acknowledged record
    /// was synced before its receipt was returned, and pread never moves a cursor.
    public func readAsReceived(segment: UInt64, offset: Int) throws -> [UInt8] {
        try ArchiveStore.readAsReceived(archiveDirectory: layout.archiveDirectory, at: ArchivePosition(segment: segment, offset: offset),
                                        keys: options.keys.ring, remote: options.remoteSegments, dictionaries: dictionaryCache)
    }

    /// The same from an archive directory (no store needed); `keys` open encrypted segments,
    /// `remote` reads evicted ones.
    public static func readAsReceived(archiveDirectory: String, at position: ArchivePosition, keys: SegmentKeyRing = .none,
                                      remote: (any RemoteSegmentSource)? = nil, dictionaries: SegmentReadCache = SegmentReadCache()) throws -> [UInt8] {
        switch try readContents(archiveDirectory: archiveDirectory, at: position, keys: keys, remote: remote, dictionaries: dictionaries) {
        case .message(let record):
            // Its first arrival is in it (none in a spooled message's): as that one received it.
            let original = try record.original()
            return try record.arrival?.asReceived(original: original, originalSHA256: record.metadata.sha256) ?? original
        case .arrival(let arrival, let reference):
            let record = try readRecord(archiveDirectory: archiveDirectory, segment: reference.position.segment,
                                        offset: reference.position.offset, keys: keys, remote: remote, dictionaries: dictionaries)
            guard record.metadata.sha256 == reference.sha256 else { throw RecordCodecError.digestMismatch }
            return try arrival.asReceived(original: try record.original(), originalSHA256: record.metadata.sha256)
        }
    }

    /// The message record at a location, read with pread from an archive directory (no
    /// store needed).
    public static func readRecord(archiveDirectory: String, segment: UInt64, offset: Int, keys: SegmentKeyRing = .none,
                                  remote: (any RemoteSegmentSource)? = nil,
                                  dictionaries: SegmentReadCache = SegmentReadCache()) throws -> ArchiveRecord {
        let position = ArchivePosition(segment: segment, offset: offset)
        guard case .message(let record) = try readContents(archiveDirectory: archiveDirectory, at: position, keys: keys, remote: remote,
                                                           dictionaries: dictionaries) else {
            throw ArchiveStoreError.notFound("\(position) is not a message record")
        }
        return record
    }

    /// The arrival recorded at a location: an arrival record's, or the first arrival a
    /// message record holds.
    static func readArrival(archiveDirectory: String, at position: ArchivePosition, keys: SegmentKeyRing, remote: (any RemoteSegmentSource)?,
                            dictionaries: SegmentReadCache) throws -> Arrival {
        switch try readContents(archiveDirectory: archiveDirectory, at: position, keys: keys, remote: remote, dictionaries: dictionaries) {
        case .message(let record):
            guard let arrival = record.arrival else { throw ArchiveStoreError.notFound("no arrival at \(position)") }
            return arrival
        case .arrival(let arrival, _):
            return arrival
        }
    }

    private enum StoredRecord {
        case message(ArchiveRecord)
        case arrival(Arrival, OriginalReference)
    }

    /// A message or arrival record at a location. A record compressed with a dictionary
    /// needs its segment's dictionary records (docs/FORMAT.md, "Dictionaries");
    /// `dictionaries` keeps them between calls.
    private static func readContents(archiveDirectory: String, at position: ArchivePosition, keys: SegmentKeyRing,
                                     remote: (any RemoteSegmentSource)?, dictionaries: SegmentReadCache) throws -> StoredRecord {
        let path = archiveDirectory + "/" + SegmentName.file(position.segment)
        guard FileManager.default.fileExists(atPath: path)
                || FileManager.default.fileExists(atPath: archiveDirectory + "/" + SegmentName.evicted(position.segment)) else {
            throw ArchiveStoreError.notFound("no record at \(position)")
        }
        let file = try dictionaries.open(directory: archiveDirectory, sequence: position.segment, path: path, keys: keys, remote: remote)
        defer { file.close() }
        let size = file.size
        guard position.offset >= SegmentHeader.size, position.offset < size, file.removed[position.offset] == nil else {
            throw ArchiveStoreError.notFound("no record at \(position)")
        }
        switch try SegmentScanner.readRecord(file, at: position.offset, limit: size) {
        case .valid(let header, let bytes):
            let known = header.dictionaryID == 0
                ? SegmentDictionaries()
                : try dictionaries.dictionaries(for: path) { try SegmentDictionaries.load(file, limit: position.offset).0 }
            switch header.kind {
            case .message:
                return .message(try RecordCodec.decode(bytes, dictionaries: known))
            case .arrival:
                guard case .arrival(let arrival, let reference) = try RecordCodec.decodeContents(bytes, header: header, dictionaries: known) else {
                    throw ArchiveStoreError.notFound("no arrival at \(position)")
                }
                return .arrival(arrival, reference)
            case .dictionary:
                throw ArchiveStoreError.notFound("\(position) is a dictionary record")
            }
        case .invalid(let reason):
            throw ArchiveStoreError.unrecoverable("\(position): \(reason)")
        }
    }
}

/// What reading records of recently read segments needs again: each segment's dictionaries
/// (all of them precede its first message record, so once a message record of a segment
/// has been read the set is complete) and its description (the expiry list that maps its
/// offsets, its encryption), which otherwise is read anew for every record. A segment
/// expiry rewrote since is told by its size (`SegmentCatalog.reopen`) and described again.
public final class SegmentReadCache: Sendable {
    private let entries = LockedValue<[(path: String, dictionaries: SegmentDictionaries)]>([])
    private let described = LockedValue<[SegmentDescriptor]>([])
    private let capacity: Int

    public init(capacity: Int = 8) { self.capacity = capacity }

    func dictionaries(for path: String, load: () throws -> SegmentDictionaries) throws -> SegmentDictionaries {
        if let hit = entries.withLock({ $0.first { $0.path == path }?.dictionaries }) { return hit }
        let loaded = try load()
        entries.withLock { list in
            list.removeAll { $0.path == path }
            list.insert((path, loaded), at: 0)
            if list.count > capacity { list.removeLast(list.count - capacity) }
        }
        return loaded
    }

    /// The segment at `path`, opened with its description.
    func open(directory: String, sequence: UInt64, path: String, keys: SegmentKeyRing, remote: (any RemoteSegmentSource)?) throws -> SegmentFile {
        let known = described.withLock { $0.first { $0.path == path } }
        let opened = try known.map(SegmentCatalog.reopen)
            ?? SegmentCatalog.open(directory: directory, sequence: sequence, path: path, keys: keys, remote: remote)
        described.withLock { list in
            list.removeAll { $0.path == path }
            list.insert(opened.descriptor, at: 0)
            if list.count > capacity { list.removeLast(list.count - capacity) }
        }
        return opened.file
    }
}

extension FinishedMessage {
    /// The message as its stored record decodes: `original()` gives back the bytes
    /// (decompressed, unpacked, checked against the SHA-256) as a read of the store would.
    /// A copy of the body, for the forward queue's recent messages (small ones only); nil
    /// if a spilled body cannot be read back. Holds the dictionary, not this message's
    /// claim on the writer (it does not delay the writer's dictionary bookkeeping).
    public var record: ArchiveRecord? {
        guard let body = try? encoded.bytes(RecordCodec.headerSize..<(RecordCodec.headerSize + compressedSize)) else { return nil }
        return ArchiveRecord(metadata: metadata, compressedBody: body, dictionary: dictionary, bodyFormat: .packed)
    }

    /// The message as a self-contained run of records: the dictionary record it was
    /// compressed with (if any), then the message record. The forward queue's spool
    /// stores messages it does not archive this way, in the archive's record format.
    public var standaloneRecordBytes: [UInt8] {
        get throws {
            var bytes = dictionary.map(RecordCodec.encodeDictionary) ?? []
            try encoded.forEachPiece { bytes.append(contentsOf: $0) }
            return bytes
        }
    }

    /// Writes `standaloneRecordBytes` to `file` from offset 0, a block at a time: the
    /// spool's copy of a large message is never whole in memory.
    package func writeStandaloneRecord(to file: SystemFile) throws {
        var offset = 0
        if let dictionary {
            let record = RecordCodec.encodeDictionary(dictionary)
            try file.write(record[...], at: offset)
            offset += record.count
        }
        try encoded.forEachPiece { piece in
            try file.write(piece, at: offset)
            offset += piece.count
        }
    }
}

extension RecordCodec {
    /// Decodes what `FinishedMessage.standaloneRecordBytes` wrote: dictionary records,
    /// then exactly one message record, nothing after it.
    public static func decodeStandalone(_ bytes: ArraySlice<UInt8>) throws(RecordCodecError) -> ArchiveRecord {
        var dictionaries = SegmentDictionaries()
        var offset = bytes.startIndex
        while true {
            let header = try validate(bytes[offset...])
            let record = bytes[offset..<(offset + header.recordLength)]
            if header.kind == .message {
                guard offset + header.recordLength == bytes.endIndex else { throw .lengthTrailerMismatch }
                return try decode(record, dictionaries: dictionaries)
            }
            guard dictionaries.register(header, record) else { throw .missingDictionary(header.dictionaryID) }
            offset += header.recordLength
        }
    }
}
