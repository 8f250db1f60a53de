import Crypto
import DurableFiles
import Foundation

/// The copy of a sealed segment the bucket holds, as the upload recorded it: the segment's
/// file byte for byte (after expiry: the file as compacted, the expiry list still local).
public struct EvictedSegment: Sendable, Equatable {
    public var sequence: UInt64
    /// The object's key in the bucket.
    public var key: String
    /// The object version uploaded (nil on a bucket without versioning).
    public var versionID: String?
    /// SHA-256 of the uploaded bytes, base64, as S3 names checksums.
    public var sha256: String
    /// Bytes uploaded: the segment file's size (its physical size, not the sealed one).
    public var size: Int

    public init(sequence: UInt64, key: String, versionID: String?, sha256: String, size: Int) {
        self.sequence = sequence
        self.key = key
        self.versionID = versionID
        self.sha256 = sha256
        self.size = size
    }

    var name: String { SegmentName.file(sequence) }
}

/// Reads the bytes of evicted segments from wherever they were uploaded (the tier's bucket,
/// `ArchiveTier.BucketSegmentSource`; a test's memory). Synchronous: its callers are reader
/// threads and command-line tools; an implementation may block the calling thread on a
/// request. Offsets are physical: into the uploaded file, which expiry may have compacted.
public protocol RemoteSegmentSource: Sendable {
    /// Up to `count` bytes at `physicalOffset` (fewer only at the object's end).
    func read(_ segment: EvictedSegment, at physicalOffset: Int, count: Int) throws -> [UInt8]
}

/// Why an evicted segment's records cannot be read, or it cannot be evicted.
public enum EvictionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Reading needs the bucket and no source was given (no `[archive.remote]`).
    case noSource(segment: String, key: String)
    /// The stub `NNNNNNNN.seg.remote` does not decode.
    case badStub(path: String, reason: String)
    /// The bucket's bytes are not those the stub describes.
    case remoteMismatch(segment: String, key: String, reason: String)
    /// `evict` refused: nothing was changed.
    case refused(segment: String, reason: String)

    public var description: String {
        switch self {
        case .noSource(let segment, let key):
            return "segment \(segment) is evicted to the bucket (key \(key)); reading it needs [archive.remote] in the configuration (--config)"
        case .badStub(let path, let reason):
            return "evicted segment stub \(path): \(reason)"
        case .remoteMismatch(let segment, let key, let reason):
            return "evicted segment \(segment) (key \(key)): \(reason)"
        case .refused(let segment, let reason):
            return "segment \(segment) not evicted: \(reason)"
        }
    }
}

/// `NNNNNNNN.seg.remote`, what stays of an evicted segment (docs/FORMAT.md, "Evicted
/// segments"): where its bytes are, and its first and last bytes, so the catalog, the
/// chain check and expiry lists keep working without a request.
struct EvictionStub: Equatable {
    static let magic = Array("ARSEGRMT".utf8)
    static let version: UInt32 = 1

    var segment: EvictedSegment
    /// The file's first `SegmentHeader.size` bytes.
    var head: [UInt8]
    /// The file's last `SegmentFooter.size` bytes (its footer, when the seal is embedded).
    var tail: [UInt8]

    init(segment: EvictedSegment, head: [UInt8], tail: [UInt8]) {
        self.segment = segment
        self.head = head
        self.tail = tail
    }

    func encode() -> [UInt8] {
        var out = Self.magic
        out.appendLE(Self.version)
        out.appendLE(UInt32(0))
        out.appendLE(segment.sequence)
        out.appendLE(UInt64(segment.size))
        out.appendString(segment.sha256)
        out.appendString(segment.key)
        out.appendString(segment.versionID ?? "")
        out.appendBlob(head)
        out.appendBlob(tail)
        out.appendLE(CRC32C.checksum(out))
        return out
    }

    static func decode(_ bytes: [UInt8], path: String) throws(EvictionError) -> EvictionStub {
        func bad(_ reason: String) -> EvictionError { .badStub(path: path, reason: reason) }
        guard bytes.count >= 20, Array(bytes[0..<8]) == magic else { throw bad("not a stub (magic)") }
        let body = bytes[0..<(bytes.count - 4)]
        var crc = ByteReader<RecordCodecError>(bytes[(bytes.count - 4)...])
        guard let stored = try? crc.read(UInt32.self), CRC32C.checksum(body) == stored else { throw bad("checksum mismatch") }
        var r = ByteReader<RecordCodecError>(body[8...])
        do {
            let version = try r.read(UInt32.self)
            guard version == Self.version else { throw bad("version \(version) unknown") }
            _ = try r.read(UInt32.self)
            let sequence = try r.read(UInt64.self)
            let size = try r.read(UInt64.self)
            let sha = try r.readString()
            let key = try r.readString()
            let versionID = try r.readString()
            let head = try r.readBlob()
            let tail = try r.readBlob()
            guard size <= UInt64(Int.max), head.count == min(SegmentHeader.size, Int(size)),
                  tail.count == min(SegmentFooter.size, Int(size)) else { throw bad("sizes do not agree") }
            return EvictionStub(segment: EvictedSegment(sequence: sequence, key: key, versionID: versionID.isEmpty ? nil : versionID,
                                                        sha256: sha, size: Int(size)),
                                head: head, tail: tail)
        } catch let error as EvictionError {
            throw error
        } catch {
            throw bad("\(error)")
        }
    }

    /// The stub of segment `sequence` in `directory`; nil when there is none.
    static func load(directory: String, sequence: UInt64) throws -> EvictionStub? {
        let path = directory + "/" + SegmentName.evicted(sequence)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let stub = try decode(try Durable.readAllIfPresent(path), path: path)
        guard stub.segment.sequence == sequence else { throw EvictionError.badStub(path: path, reason: "names segment \(stub.segment.sequence)") }
        return stub
    }

    /// Removes the stub of a segment whose file is back (both present: the file wins).
    static func removeIfPresent(directory: String, sequence: UInt64, faults: (any DurableFaultInjector)?) throws {
        let path = directory + "/" + SegmentName.evicted(sequence)
        guard FileManager.default.fileExists(atPath: path) else { return }
        try Durable.unlinkIfPresent(path, faults: faults)
        try Durable.syncDirectory(directory, faults: faults)
    }
}

extension SHA256Digest {
    /// Base64, as S3 names a SHA-256 checksum.
    var base64: String { Data(self).base64EncodedString() }
}
