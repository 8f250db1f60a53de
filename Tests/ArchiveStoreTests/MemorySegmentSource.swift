import Crypto
import DurableFiles
import Foundation
@testable import ArchiveStore
import TestSupport

/// A bucket in memory: the uploaded files by key, each read counted; `corrupt` changes
/// one stored byte, as damage in the bucket would.
final class MemorySegmentSource: RemoteSegmentSource {
    private let objects = LockedValue<[String: [UInt8]]>([:])
    private let count = LockedValue(0)

    var requests: Int { count.withLock { $0 } }

    /// Uploads segment `sequence`'s file as it is now; what `evict` must be told.
    func upload(_ dir: String, _ sequence: UInt64) -> EvictedSegment {
        let bytes = readFile(dir + "/archive/" + SegmentName.file(sequence))
        let key = "node/segments/" + SegmentName.file(sequence)
        objects.withLock { $0[key] = bytes }
        return EvictedSegment(sequence: sequence, key: key, versionID: "v1", sha256: SHA256.hash(data: bytes).base64, size: bytes.count)
    }

    func corrupt(_ key: String, at offset: Int) {
        objects.withLock { $0[key]?[offset] ^= 0x01 }
    }

    func read(_ segment: EvictedSegment, at physicalOffset: Int, count: Int) throws -> [UInt8] {
        self.count.withLock { $0 += 1 }
        guard let bytes = objects.withLock({ $0[segment.key] }) else { throw ArchiveStoreError.notFound(segment.key) }
        let end = min(bytes.count, physicalOffset + count)
        return physicalOffset < end ? Array(bytes[physicalOffset..<end]) : []
    }
}
