import Foundation

/// A sealed segment and the files beside it that belong to it: what the object-storage
/// tier keeps in the bucket and `archive verify --remote` compares with it.
public struct SealedSegmentFiles: Sendable, Equatable {
    public var sequence: UInt64
    public var segmentPath: String
    /// Its sidecar seal (`NNNNNNNN.seal`), when it was abandoned after an I/O error.
    public var sealPath: String?
    /// Its expiry list (`NNNNNNNN.expiry`), when expiry removed records from it.
    public var expiryPath: String?
}

extension ArchiveLayout {
    /// The archive's sealed segments, oldest first (read-only). The active segment is not
    /// one, nor is a segment whose expiry is under way: recovery finishes that first.
    public func sealedSegments() throws -> [SealedSegmentFiles] {
        try SegmentCatalog.load(directory: archiveDirectory, keys: .none).compactMap { segment in
            guard segment.isSealed, !segment.expiryPending else { return nil }
            let seal = archiveDirectory + "/" + SegmentName.seal(segment.sequence)
            let expiry = archiveDirectory + "/" + SegmentName.expiry(segment.sequence)
            return SealedSegmentFiles(sequence: segment.sequence, segmentPath: segment.path,
                                      sealPath: segment.sealSource == .sidecar ? seal : nil,
                                      expiryPath: FileManager.default.fileExists(atPath: expiry) ? expiry : nil)
        }
    }
}
