import Crypto
import DurableFiles
import Foundation

/// Segment file names: the sequence number zero-padded to 8 digits, `00000001.seg`.
/// A segment sealed after an I/O error has its footer in a sidecar `00000001.seal`; one
/// that expiry removed records from has their list in `00000001.expiry` (and, while that
/// expiry is under way, the next list in `00000001.expiry.next`). An evicted segment's file
/// is replaced by its stub `00000001.seg.remote` (`EvictionStub`).
public enum SegmentName {
    public static let segmentExtension = "seg"
    public static let sealExtension = "seal"

    public static func file(_ sequence: UInt64) -> String { String(format: "%08llu.seg", sequence) }
    public static func seal(_ sequence: UInt64) -> String { String(format: "%08llu.seal", sequence) }
    public static func expiry(_ sequence: UInt64) -> String { String(format: "%08llu.expiry", sequence) }
    public static func pendingExpiry(_ sequence: UInt64) -> String { expiry(sequence) + ".next" }
    public static func evicted(_ sequence: UInt64) -> String { file(sequence) + ".remote" }

    /// The sequence of a segment file name, or nil for any other file.
    public static func sequence(of name: String) -> UInt64? {
        guard name.hasSuffix(".seg") else { return nil }
        let digits = name.dropLast(4)
        guard digits.count >= 8, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return UInt64(digits)
    }

    /// The sequence of a segment file or of an evicted segment's stub; nil for any other file.
    public static func segmentOrStubSequence(of name: String) -> UInt64? {
        sequence(of: name.hasSuffix(".seg.remote") ? String(name.dropLast(".remote".count)) : name)
    }
}

/// Why a segment header or footer is not valid.
public enum SegmentFormatError: Error, Equatable, Sendable {
    case truncated
    case badMagic
    case checksumMismatch
    case unsupportedVersion(UInt32)
}

/// The 72-byte block at offset 0 of every segment (layout: docs/FORMAT.md).
public struct SegmentHeader: Sendable, Equatable {
    public static let size = 72
    static let magic = Array("ARSEGHDR".utf8)
    /// 1: records in the clear; 2: records encrypted with `keyID` (a binary that knows
    /// only version 1 refuses the segment rather than read ciphertext as records).
    static let plaintextVersion: UInt32 = 1
    static let encryptedVersion: UInt32 = 2

    public var sequence: UInt64
    public var createdAt: Date
    /// SHA-256 of the seal (footer bytes) of segment `sequence - 1`; zeros for the first.
    /// Links the open segment into the chain so deleting the newest sealed one shows.
    public var previousSealHash: [UInt8]
    /// The key the segment's records are sealed with (`SegmentKeyRing`); 0: plaintext.
    public var keyID: UInt32 = 0

    public func encode() -> [UInt8] {
        var out = Self.magic
        out.appendLE(keyID == 0 ? Self.plaintextVersion : Self.encryptedVersion)
        out.appendLE(keyID)
        out.appendLE(sequence)
        out.appendLE(Int64((createdAt.timeIntervalSince1970 * 1000).rounded()))
        out.append(contentsOf: previousSealHash)
        out.appendLE(CRC32C.checksum(out))
        out.appendLE(UInt32(0))
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(SegmentFormatError) -> SegmentHeader {
        guard bytes.count >= size else { throw .truncated }
        guard Array(bytes[0..<8]) == magic else { throw .badMagic }
        guard let fields = try? Self.fields(bytes) else { throw .truncated }
        guard CRC32C.checksum(bytes[0..<64]) == fields.crc else { throw .checksumMismatch }
        switch fields.version {
        case plaintextVersion where fields.keyID == 0, encryptedVersion where fields.keyID != 0: break
        default: throw .unsupportedVersion(fields.version)
        }
        return SegmentHeader(
            sequence: fields.sequence,
            createdAt: Date(timeIntervalSince1970: Double(fields.created) / 1000),
            previousSealHash: Array(bytes[32..<64]),
            keyID: fields.keyID
        )
    }

    private struct Fields {
        var version: UInt32
        var keyID: UInt32
        var sequence: UInt64
        var created: Int64
        var crc: UInt32
    }

    private static func fields(_ bytes: [UInt8]) throws -> Fields {
        var r = ByteReader<RecordCodecError>(bytes[8..<72])
        let version = try r.read(UInt32.self)
        let keyID = try r.read(UInt32.self)
        let sequence = try r.read(UInt64.self)
        let created = try r.read(Int64.self)
        _ = try r.readBytes(32)
        return Fields(version: version, keyID: keyID, sequence: sequence, created: created, crc: try r.read(UInt32.self))
    }
}

/// The 104-byte seal that ends a sealed segment (or sits in its `.seal` sidecar).
public struct SegmentFooter: Sendable, Equatable {
    public static let size = 104
    static let magic = Array("ARSEGFTR".utf8)
    static let version: UInt32 = 1

    public var recordCount: UInt64
    /// Bytes of the segment covered by `segmentHash`; the footer itself starts here.
    public var dataLength: UInt64
    /// SHA-256 of the segment's bytes `[0, dataLength)`: header and records.
    public var segmentHash: [UInt8]
    /// SHA-256 of the previous segment's seal; zeros for the first segment.
    public var previousSealHash: [UInt8]

    public func encode() -> [UInt8] {
        var out = Self.magic
        out.appendLE(Self.version)
        out.appendLE(UInt32(0))
        out.appendLE(recordCount)
        out.appendLE(dataLength)
        out.append(contentsOf: segmentHash)
        out.append(contentsOf: previousSealHash)
        out.appendLE(CRC32C.checksum(out))
        out.appendLE(UInt32(0))
        return out
    }

    /// SHA-256 of the encoded footer: the link the next segment stores.
    public var sealHash: [UInt8] { Array(SHA256.hash(data: encode())) }

    public static func decode(_ bytes: [UInt8]) throws(SegmentFormatError) -> SegmentFooter {
        guard bytes.count == size else { throw .truncated }
        guard Array(bytes[0..<8]) == magic else { throw .badMagic }
        var r = ByteReader<RecordCodecError>(bytes[8..<104])
        guard let version = try? r.read(UInt32.self), (try? r.read(UInt32.self)) != nil,
              let count = try? r.read(UInt64.self), let length = try? r.read(UInt64.self),
              let segmentHash = try? r.readBytes(32), let previous = try? r.readBytes(32),
              let crc = try? r.read(UInt32.self)
        else { throw .truncated }
        guard CRC32C.checksum(bytes[0..<96]) == crc else { throw .checksumMismatch }
        guard version == Self.version else { throw .unsupportedVersion(version) }
        return SegmentFooter(recordCount: count, dataLength: length, segmentHash: segmentHash, previousSealHash: previous)
    }
}
