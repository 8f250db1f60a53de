import Foundation

/// Reading one record by its location (segment and offset from an `ArchiveReceipt`), for
/// the forward queue: its entries point into the archive instead of copying the message.
extension ArchiveStore {
    /// The original bytes of the record at `offset` in segment `segment`, checksummed and
    /// verified against the stored SHA-256. Safe while the store writes: an acknowledged
    /// record was synced before its receipt was returned, and pread never moves a cursor.
    public func readOriginal(segment: UInt64, offset: Int) throws -> [UInt8] {
        try ArchiveStore.readRecord(archiveDirectory: layout.archiveDirectory, segment: segment, offset: offset).original()
    }

    /// The record at a location, read with pread from an archive directory (no store needed).
    public static func readRecord(archiveDirectory: String, segment: UInt64, offset: Int) throws -> ArchiveRecord {
        let path = archiveDirectory + "/" + SegmentName.file(segment)
        let file = try SystemFile.openReadOnly(path)
        defer { file.close() }
        let size = try file.size()
        guard offset >= SegmentHeader.size, offset < size else {
            throw ArchiveStoreError.notFound("no record at \(SegmentName.file(segment)) offset \(offset)")
        }
        switch try SegmentScanner.readRecord(file, at: offset, limit: size) {
        case .valid(_, let bytes): return try RecordCodec.decode(bytes)
        case .invalid(let reason):
            throw ArchiveStoreError.unrecoverable("\(SegmentName.file(segment)) offset \(offset): \(reason)")
        }
    }
}

extension FinishedMessage {
    /// The complete encoded record (docs/FORMAT.md, "Record"), e.g. for the forward
    /// queue's spool, which stores messages it does not archive in the same format.
    public var recordBytes: [UInt8] { encodedRecord }
}
