import Foundation

/// The files of a sealed segment that belong together off the node (the object-storage
/// tier uploads them): the segment, its sidecar seal if it has one, its expiry list if
/// expiry removed records from it.
public struct SealedSegmentFiles: Sendable, Equatable {
    public var sequence: UInt64
    public var segment: String
    public var seal: String?
    public var expiryList: String?
    /// The segment file's size on disk.
    public var size: Int
    /// When the segment was started (its header): no record in it arrived much earlier.
    public var createdAt: Date?

    /// The sealed segments of the archive in `dataDirectory` whose files are settled, in
    /// sequence order: the active segment, a segment an expiry is rewriting, and one whose
    /// expiry list does not fit it are left out (they are not what the archive will keep).
    /// Segments evicted to the bucket have no file here and are not listed.
    public static func list(dataDirectory: String) throws -> [SealedSegmentFiles] {
        let directory = ArchiveLayout(dataDirectory: dataDirectory).archiveDirectory
        return try SegmentCatalog.load(directory: directory, keys: .none).compactMap { segment in
            guard segment.isSealed, segment.path.hasSuffix("." + SegmentName.segmentExtension), !segment.expiryPending,
                  segment.expiryProblem == nil else { return nil }
            let seal = directory + "/" + SegmentName.seal(segment.sequence)
            let expiry = directory + "/" + SegmentName.expiry(segment.sequence)
            return SealedSegmentFiles(sequence: segment.sequence, segment: segment.path,
                                      seal: segment.sealSource == .sidecar ? seal : nil,
                                      expiryList: segment.expiry == nil ? nil : expiry, size: segment.physicalSize,
                                      createdAt: try? segment.header.get().createdAt)
        }
    }
}
