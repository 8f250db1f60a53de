import Crypto
import DurableFiles
import Foundation

/// The durable steps of an eviction: the crash tests stop after each.
public enum EvictionStep: Sendable, Equatable {
    case stubWritten
    case fileRemoved
}

/// Replaces a sealed segment's file by its stub once the bucket holds the file (docs/FORMAT.md,
/// "Evicted segments"). The stub is written durably (temp, fsync, rename, directory fsync)
/// before the file is unlinked, so a crash leaves the file, or the stub, or both (the file
/// wins; recovery removes the stub). A reader holding the file open keeps reading it.
enum SegmentEvictor {
    /// Refuses, changing nothing, unless the segment is sealed, not the newest (the active
    /// one, or the one the writer resumes), has no expiry pending or planned, and its file is
    /// byte for byte what `copy` says was uploaded (its size and SHA-256, computed here).
    static func evict(layout: ArchiveLayout, sequence: UInt64, to copy: EvictedSegment, keys: SegmentKeyRing,
                      faults: (any DurableFaultInjector)?, after: (EvictionStep) throws -> Void = { _ in }) throws {
        let directory = layout.archiveDirectory
        func refused(_ reason: String) -> EvictionError { .refused(segment: SegmentName.file(sequence), reason: reason) }
        guard copy.sequence == sequence else { throw refused("the uploaded copy is of segment \(copy.sequence)") }
        let segments = try SegmentCatalog.load(directory: directory, keys: keys, remote: nil)
        guard let segment = segments.first(where: { $0.sequence == sequence }) else { throw refused("there is no such segment") }
        guard segment.evicted == nil else { throw refused("it is evicted already") }
        guard case .success = segment.header, segment.isSealed else { throw refused("it is not sealed") }
        guard sequence != segments.last?.sequence else { throw refused("it is the newest segment (the writer's)") }
        guard !segment.expiryPending else { throw refused("an expiry of it is pending (\(SegmentName.pendingExpiry(sequence)))") }
        if let problem = segment.expiryProblem { throw refused("its expiry list: \(problem)") }
        if let plan = try ExpiryPlan.load(layout), plan.records.contains(where: { $0.segment == sequence }) {
            throw refused("an unfinished expiry run removes records from it")
        }
        let file = try SystemFile.openReadOnly(segment.path)
        defer { file.close() }
        let size = try file.size()
        let sha256 = try file.sha256Base64(size: size)
        guard size == copy.size, sha256 == copy.sha256 else {
            throw refused("the local file (\(size) bytes, SHA-256 \(sha256)) is not what was uploaded (\(copy.size) bytes, SHA-256 \(copy.sha256))")
        }
        let tailCount = min(SegmentFooter.size, size)
        let stub = EvictionStub(segment: copy, head: try file.read(at: 0, count: min(SegmentHeader.size, size)),
                                tail: try file.read(at: size - tailCount, count: tailCount))
        try Durable.writeAtomically(stub.encode(), to: directory + "/" + SegmentName.evicted(sequence), faults: faults)
        try after(.stubWritten)
        try Durable.unlinkIfPresent(segment.path, faults: faults)
        try Durable.syncDirectory(directory, faults: faults)
        try after(.fileRemoved)
    }

}

extension ArchiveStore {
    /// Replaces sealed segment `sequence` by a stub naming `copy`, its upload the bucket
    /// confirmed (`SegmentEvictor`); its records are read from there afterwards, through
    /// `ArchiveStoreOptions.remoteSegments`. Never while an expiry runs: expiry rewrites
    /// segments, and the file hashed must be the file removed.
    public func evict(sequence: UInt64, to copy: EvictedSegment) async throws {
        try enterExpiryGate()
        defer { leaveExpiryGate() }
        let layout = self.layout
        let keys = options.keys.ring
        let faults = options.faultInjector
        try await Self.blocking {
            try SegmentEvictor.evict(layout: layout, sequence: sequence, to: copy, keys: keys, faults: faults)
        }
    }
}

extension SystemFile {
    /// SHA-256 of the file's first `size` bytes, base64 (as S3 names an upload's checksum):
    /// what eviction and `archive verify --remote` compare with the recorded upload.
    package func sha256Base64(size: Int) throws -> String {
        var hasher = SHA256()
        var offset = 0
        while offset < size {
            let bytes = try read(at: offset, count: min(4 << 20, size - offset))
            guard !bytes.isEmpty else { break }
            hasher.update(data: bytes)
            offset += bytes.count
        }
        return hasher.finalize().base64
    }
}
