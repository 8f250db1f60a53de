import Crypto
import DurableFiles
import Foundation

/// One record expiry removed from a sealed segment: where it was, what it was (its bytes'
/// SHA-256, the original it belonged to, its id) and why it left (the rule, when its
/// retention ran out, when it was removed).
public struct RemovedRecord: Sendable, Equatable {
    public var offset: Int
    public var length: Int
    public var kind: RecordKind
    /// SHA-256 of the record's bytes as sealed.
    public var recordSHA256: [UInt8]
    /// SHA-256 of the original the record held (a message record) or belonged to (an arrival).
    public var originalSHA256: [UInt8]
    /// The archive id (message record) or arrival id (arrival record).
    public var id: String
    public var rule: String
    public var expiredAt: Date
    public var removedAt: Date
}

extension Array where Element == RemovedRecord {
    /// Removed lengths by offset (`SegmentScanner.scan`'s `removed`).
    var ranges: [Int: Int] { Dictionary(map { ($0.offset, $0.length) }, uniquingKeysWith: Swift.max) }
}

/// The list of records expiry removed from one sealed segment, kept next to it as
/// `NNNNNNNN.expiry` (docs/FORMAT.md, "Expiry"). Removing records makes the segment's
/// sealed SHA-256 unverifiable, so the list carries what verify checks instead: the
/// record-list digest, SHA-256 over every record of the segment as sealed (its offset,
/// length and bytes' SHA-256), computed when the first expiry read the whole segment and
/// found it equal to its seal. Verify recomputes it from the records still there and the
/// hashes listed here; any other change to the segment shows.
public struct ExpiryManifest: Sendable, Equatable {
    static let magic = Array("ARSEGEXP".utf8)
    static let version: UInt32 = 2
    static let headerSize = 104

    public var sequence: UInt64
    /// The footer's SHA-256 of the segment as sealed (names the segment this list is of).
    public var sealedSHA256: [UInt8]
    public var recordListDigest: [UInt8]
    /// The segment file's size as sealed (with a sidecar seal, bytes after it included):
    /// what records' offsets address.
    public var sealedSize: Int
    /// In offset order.
    public var removed: [RemovedRecord]

    /// Bytes of the removed records.
    public var removedBytes: Int { removed.reduce(0) { $0 + $1.length } }
    /// The size of the segment file once rewritten without the removed records.
    public var fileSize: Int { sealedSize - removedBytes }

    /// Removed lengths by offset, for scanners that step over them.
    public var removedRanges: [Int: Int] { removed.ranges }

    public func encode() -> [UInt8] {
        var out = Self.magic
        out.appendLE(Self.version)
        out.appendLE(UInt32(removed.count))
        out.appendLE(sequence)
        out.append(contentsOf: sealedSHA256)
        out.append(contentsOf: recordListDigest)
        out.appendLE(UInt64(sealedSize))
        out.appendLE(CRC32C.checksum(out))
        out.appendLE(UInt32(0))
        for r in removed {
            out.appendLE(UInt64(r.offset))
            out.appendLE(UInt32(r.length))
            out.appendLE(UInt8(truncatingIfNeeded: r.kind.rawValue))
            out.append(contentsOf: r.recordSHA256)
            out.append(contentsOf: r.originalSHA256)
            out.appendString(r.id)
            out.appendString(r.rule)
            out.appendLE(Self.millis(r.expiredAt))
            out.appendLE(Self.millis(r.removedAt))
        }
        out.appendLE(CRC32C.checksum(out))
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(ExpiryManifestError) -> ExpiryManifest {
        guard bytes.count >= headerSize + 4, Array(bytes[0..<8]) == magic else { throw .invalid("not an expiry list") }
        var crc = ByteReader<ExpiryManifestError>(bytes[(bytes.count - 4)...])
        guard CRC32C.checksum(bytes[0..<(bytes.count - 4)]) == (try crc.read(UInt32.self)) else {
            throw .invalid("expiry list checksum mismatch")
        }
        var r = ByteReader<ExpiryManifestError>(bytes[8..<(bytes.count - 4)])
        guard try r.read(UInt32.self) == version else { throw .invalid("expiry list of an unknown version") }
        let count = Int(try r.read(UInt32.self))
        let sequence = try r.read(UInt64.self)
        let sealed = try r.readBytes(32)
        let digest = try r.readBytes(32)
        let sealedSize = try r.read(UInt64.self)
        _ = try r.read(UInt64.self)  // header CRC and reserved: the whole-file CRC covers them
        guard sealedSize < 1 << 48 else { throw .invalid("expiry list: segment size") }
        var removed: [RemovedRecord] = []
        for _ in 0..<count {
            let offset = try r.read(UInt64.self)
            let length = try r.read(UInt32.self)
            // Offsets within 2^48 (256 TiB): the order check below adds lengths to them.
            guard let kind = RecordKind(rawValue: UInt16(try r.read(UInt8.self))), kind != .dictionary,
                  offset < 1 << 48 else { throw .invalid("expiry list entry") }
            removed.append(RemovedRecord(
                offset: Int(offset), length: Int(length), kind: kind, recordSHA256: try r.readBytes(32),
                originalSHA256: try r.readBytes(32), id: try r.readString(), rule: try r.readString(),
                expiredAt: date(try r.read(Int64.self)), removedAt: date(try r.read(Int64.self))))
        }
        guard r.isAtEnd else { throw .invalid("bytes after the expiry list's entries") }
        guard zip(removed, removed.dropFirst()).allSatisfy({ $0.offset + $0.length <= $1.offset }) else {
            throw .invalid("expiry list entries out of order or overlapping")
        }
        guard removed.allSatisfy({ $0.offset >= SegmentHeader.size && $0.length > 0 }),
              (removed.last.map { $0.offset + $0.length } ?? 0) <= Int(sealedSize) else {
            throw .invalid("expiry list entries outside the segment")
        }
        return ExpiryManifest(sequence: sequence, sealedSHA256: sealed, recordListDigest: digest, sealedSize: Int(sealedSize), removed: removed)
    }

    /// The list at `path`; nil when there is none.
    static func load(path: String) throws -> ExpiryManifest? {
        let bytes = try Durable.readAllIfPresent(path)
        return bytes.isEmpty ? nil : try decode(bytes)
    }

    private static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    private static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}

public enum ExpiryManifestError: Error, Equatable, Sendable, ByteReadFailure {
    case invalid(String)

    package static func truncated(byteCount: Int) -> ExpiryManifestError { .invalid("expiry list truncated") }
    package static var invalidUTF8: ExpiryManifestError { .invalid("expiry list holds invalid UTF-8") }
}

/// The record-list digest (`ExpiryManifest`): the records a scan reads (any order: kept
/// records come in file order, but the removed ones, from the list, interleave) and those
/// a list names as removed, hashed in segment order.
struct RecordListDigest {
    private var entries: [(offset: Int, length: Int, sha256: [UInt8])]

    init(removed: [RemovedRecord]) {
        entries = removed.map { ($0.offset, $0.length, $0.recordSHA256) }
    }

    /// Adds a record read from the segment; returns its bytes' SHA-256.
    @discardableResult
    mutating func add(offset: Int, bytes: ArraySlice<UInt8>) -> [UInt8] {
        let sha = Array(SHA256.hash(data: bytes))
        entries.append((offset, bytes.count, sha))
        return sha
    }

    func finalize() -> [UInt8] {
        var hasher = SHA256()
        for entry in entries.sorted(by: { $0.offset < $1.offset }) {
            var bytes: [UInt8] = []
            bytes.appendLE(UInt64(entry.offset))
            bytes.appendLE(UInt32(entry.length))
            bytes.append(contentsOf: entry.sha256)
            hasher.update(data: bytes)
        }
        return Array(hasher.finalize())
    }
}

/// A record expiry removed, with the segment it was in (`archive expired`).
public struct ExpiredRecord: Sendable, Equatable {
    public var segment: UInt64
    public var record: RemovedRecord
}

extension ArchiveReader {
    /// Every record expiry removed, from the segments' expiry lists, oldest segment first.
    public func expiredRecords() -> [ExpiredRecord] {
        segments.flatMap { segment in (segment.expiry?.removed ?? []).map { ExpiredRecord(segment: segment.sequence, record: $0) } }
    }
}
