import DurableFiles
import Foundation

/// Why bytes are not a valid archive record. Distinct cases let recovery tell a torn
/// tail (short read) from corruption (bad checksum) and report the right fault.
public enum RecordCodecError: Error, Equatable, Sendable {
    case truncatedHeader
    case badMagic
    case unsupportedVersion(UInt16)
    case headerChecksumMismatch
    case implausibleLength(UInt64)
    case truncatedRecord(needed: Int, available: Int)
    case recordChecksumMismatch
    case lengthTrailerMismatch
    case truncatedMetadata
    case invalidUTF8
    case digestMismatch
    /// A version 2 record names a dictionary its segment does not hold.
    case missingDictionary(UInt32)
    case metadataDecompression(String)
    case notAMessage
}

extension RecordCodecError: ByteReadFailure {
    package static func truncated(byteCount: Int) -> RecordCodecError { .truncatedMetadata }
}

/// What a record holds.
public enum RecordKind: UInt16, Sendable {
    /// An archived (or spooled) message: zstd body and metadata.
    case message = 1
    /// A zstd dictionary that the segment's message records may use; body = the
    /// dictionary, no metadata. Only ever before the first message record of a segment.
    case dictionary = 2
}

/// The fixed 24-byte record header, validated on its own so a torn or garbage length is
/// rejected (header CRC) before anything tries to read that many bytes.
public struct RecordHeader: Sendable, Equatable {
    public var bodyLength: Int
    public var metadataLength: Int
    /// 1: metadata in clear, no dictionary; 2: metadata is a zstd frame; 3: as 2, and a
    /// message's body frame holds the packed message (`Base64Packer`).
    public var version: UInt16 = RecordCodec.version
    public var kind: RecordKind = .message
    /// The dictionary the body and metadata were compressed with (0 = none); for a
    /// dictionary record, its own id. Covered by the record CRC, not the header CRC:
    /// read it only from validated records.
    public var dictionaryID: UInt32 = 0

    /// Total on-disk size: header, body, metadata, zero padding to 8, 8-byte trailer.
    public var recordLength: Int {
        RecordCodec.align(RecordCodec.headerSize + bodyLength + metadataLength) + RecordCodec.trailerSize
    }
}

/// Encodes and decodes one archive record independent of where it is stored (segment
/// files now, the forward-queue spool later). Byte layout: docs/FORMAT.md, "Record".
public enum RecordCodec {
    /// "ARCR" in file order.
    public static let magic: UInt32 = 0x5243_5241
    /// Version written for message records; versions 1 (clear metadata) and 2 (body not
    /// packed) are still read.
    public static let version: UInt16 = 3
    /// Version written for dictionary records, unchanged since dictionaries came.
    static let dictionaryVersion: UInt16 = 2
    /// Decompressed metadata larger than this is refused as corrupt (1,000 recipients of
    /// 256 bytes and the trace headers fit many times over).
    static let maxMetadataLength = 16 << 20
    /// The largest original size a record may claim (1 TiB).
    static let maxOriginalSize: UInt64 = 1 << 40
    public static let headerSize = 24
    public static let trailerSize = 8
    public static let alignment = 8
    /// Larger than any message we accept compressed (25 MB limit), small enough that a
    /// garbage length that slipped past the header CRC cannot make us allocate gigabytes.
    public static let maxSectionLength = 1 << 30

    static func align(_ n: Int) -> Int { (n + alignment - 1) & ~(alignment - 1) }

    // MARK: Encoding

    /// Starts a record buffer with space for the header so the body can be appended in
    /// place; `finish` completes it.
    static func beginRecord(reservingBody capacity: Int = 0) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: headerSize)
        buffer.reserveCapacity(headerSize + capacity + 512)
        return buffer
    }

    static func seal(_ buffer: inout [UInt8], metadata: ArchiveMetadata, bodyFormat: BodyFormat,
                     dictionary: ZstdDictionary?, level: Int32) throws(ZstdError) {
        let section = try ZstdSection.compress(encodeMetadata(metadata), dictionary: dictionary, level: level)
        finish(&buffer, version: bodyFormat == .packed ? version : 2, kind: .message,
               metadataSection: section, dictionaryID: dictionary?.id ?? 0)
    }

    /// Completes a draft's record, whose bytes after the header are the packed body:
    /// metadata (compressed with the body's dictionary), padding, header, trailer. The
    /// checksum comes from the one the record kept of its bytes, so a spilled record is
    /// not read back.
    static func seal(_ record: RecordBuffer, metadata: ArchiveMetadata, dictionary: ZstdDictionary?, level: Int32) throws {
        let section = try ZstdSection.compress(encodeMetadata(metadata), dictionary: dictionary, level: level)
        let bodyLength = record.count - headerSize
        var tail = section
        tail.append(contentsOf: repeatElement(0, count: align(record.count + tail.count) - record.count - tail.count))
        try record.append(tail)
        let header = header(version: version, kind: .message, bodyLength: bodyLength, metadataLength: section.count,
                            dictionaryID: dictionary?.id ?? 0)
        try record.setHeader(header)
        let crc = CRC32C.combine(CRC32C.checksum(header), record.afterHeader.value, lengthOfB: record.count - headerSize)
        var trailer: [UInt8] = []
        trailer.appendLE(crc)
        trailer.appendLE(UInt32(record.count + trailerSize))
        try record.append(trailer)
    }

    /// The 24-byte record header (docs/FORMAT.md, "Record").
    static func header(version: UInt16, kind: RecordKind, bodyLength: Int, metadataLength: Int, dictionaryID: UInt32) -> [UInt8] {
        var header: [UInt8] = []
        header.reserveCapacity(headerSize)
        header.appendLE(magic)
        header.appendLE(version)
        header.appendLE(kind.rawValue)
        header.appendLE(UInt32(bodyLength))
        header.appendLE(UInt32(metadataLength))
        header.appendLE(CRC32C.checksum(header))
        header.appendLE(dictionaryID)
        return header
    }

    /// A dictionary record: written before the first message record that uses it.
    public static func encodeDictionary(_ dictionary: ZstdDictionary) -> [UInt8] {
        var buffer = beginRecord(reservingBody: dictionary.bytes.count)
        buffer.append(contentsOf: dictionary.bytes)
        finish(&buffer, version: dictionaryVersion, kind: .dictionary, metadataSection: [], dictionaryID: dictionary.id)
        return buffer
    }

    private static func finish(_ buffer: inout [UInt8], version: UInt16, kind: RecordKind,
                               metadataSection: [UInt8], dictionaryID: UInt32) {
        let bodyLength = buffer.count - headerSize
        buffer.append(contentsOf: metadataSection)
        buffer.padTo(alignment: alignment)
        buffer.replaceSubrange(0..<headerSize, with: header(version: version, kind: kind, bodyLength: bodyLength,
                                                           metadataLength: metadataSection.count, dictionaryID: dictionaryID))
        let crc = CRC32C.checksum(buffer)
        buffer.appendLE(crc)
        buffer.appendLE(UInt32(buffer.count + 4))
    }

    /// One-shot encoding of a complete message record.
    public static func encode(_ record: ArchiveRecord, level: Int32 = 3) throws(ZstdError) -> [UInt8] {
        var buffer = beginRecord(reservingBody: record.compressedBody.count)
        buffer.append(contentsOf: record.compressedBody)
        try seal(&buffer, metadata: record.metadata, bodyFormat: record.bodyFormat, dictionary: record.dictionary, level: level)
        return buffer
    }

    static func encodeMetadata(_ m: ArchiveMetadata) -> [UInt8] {
        var out = [UInt8]()
        // Fixed fields and short strings fit in 1 KiB; reserving once saves the array's
        // regrowth, several copies per message.
        out.reserveCapacity(1024 + m.envelope.traceHeaders.utf8.count + m.envelope.recipients.count * 64
                            + (m.forwarding?.prefix.count ?? 0))
        out.appendString(m.id)
        out.appendLE(Int64((m.envelope.receivedAt.timeIntervalSince1970 * 1000).rounded()))
        out.appendString(m.envelope.listener)
        out.appendString(m.envelope.clientAddress)
        out.appendString(m.envelope.helo)
        appendOptional(m.envelope.tls, to: &out)
        out.appendString(m.envelope.sender)
        out.appendLE(UInt32(m.envelope.recipients.count))
        for recipient in m.envelope.recipients { out.appendString(recipient) }
        out.appendLE(m.originalSize)
        out.append(contentsOf: m.sha256)
        appendOptional(m.messageID, to: &out)
        appendOptional(m.subject, to: &out)
        out.appendString(m.envelope.traceHeaders)
        if let promise = m.forwarding {
            // Optional trailing field: records without a promise end before it.
            out.append(1)
            out.appendLE(UInt32(promise.prefix.count))
            out.append(contentsOf: promise.prefix)
            out.appendLE(UInt32(promise.copies.count))
            for copy in promise.copies {
                out.appendString(copy.connection)
                out.appendLE(UInt32(copy.recipients.count))
                for recipient in copy.recipients { out.appendString(recipient) }
            }
        }
        return out
    }

    private static func appendOptional(_ value: String?, to out: inout [UInt8]) {
        if let value {
            out.append(1)
            out.appendString(value)
        } else {
            out.append(0)
        }
    }

    // MARK: Decoding

    /// Validates the fixed header (magic, version, header CRC, plausible lengths).
    public static func decodeHeader(_ bytes: ArraySlice<UInt8>) throws(RecordCodecError) -> RecordHeader {
        guard bytes.count >= headerSize else { throw .truncatedHeader }
        var reader = ByteReader<RecordCodecError>(bytes.prefix(headerSize))
        guard try reader.read(UInt32.self) == magic else { throw .badMagic }
        let version = try reader.read(UInt16.self)
        let kindCode = try reader.read(UInt16.self)
        let bodyLength = try reader.read(UInt32.self)
        let metadataLength = try reader.read(UInt32.self)
        let storedCRC = try reader.read(UInt32.self)
        let start = bytes.startIndex
        guard CRC32C.checksum(bytes[start..<start + 16]) == storedCRC else { throw .headerChecksumMismatch }
        // Version is checked after the CRC so random bytes report as corruption.
        guard (1...Self.version).contains(version), let kind = RecordKind(rawValue: kindCode) else {
            throw .unsupportedVersion(version)
        }
        let dictionaryID = try reader.read(UInt32.self)
        guard bodyLength <= maxSectionLength, metadataLength <= maxSectionLength else {
            throw .implausibleLength(UInt64(max(bodyLength, metadataLength)))
        }
        return RecordHeader(bodyLength: Int(bodyLength), metadataLength: Int(metadataLength),
                            version: version, kind: kind, dictionaryID: version == 1 ? 0 : dictionaryID)
    }

    /// Checks the whole-record CRC and trailer; returns the header on success.
    public static func validate(_ bytes: ArraySlice<UInt8>) throws(RecordCodecError) -> RecordHeader {
        let header = try decodeHeader(bytes)
        let length = header.recordLength
        guard bytes.count >= length else { throw .truncatedRecord(needed: length, available: bytes.count) }
        let start = bytes.startIndex
        var trailer = ByteReader<RecordCodecError>(bytes[(start + length - trailerSize)..<(start + length)])
        let storedCRC = try trailer.read(UInt32.self)
        let storedLength = try trailer.read(UInt32.self)
        guard CRC32C.checksum(bytes[start..<(start + length - trailerSize)]) == storedCRC else {
            throw .recordChecksumMismatch
        }
        guard Int(storedLength) == length else { throw .lengthTrailerMismatch }
        return header
    }

    /// Decodes a complete, checksummed message record starting at `bytes.startIndex`;
    /// `dictionaries` resolves the dictionary it names (its segment's).
    public static func decode(_ bytes: ArraySlice<UInt8>, dictionaries: SegmentDictionaries = SegmentDictionaries()) throws(RecordCodecError) -> ArchiveRecord {
        let header = try validate(bytes)
        guard header.kind == .message else { throw .notAMessage }
        let bodyStart = bytes.startIndex + headerSize
        let body = Array(bytes[bodyStart..<(bodyStart + header.bodyLength)])
        let metadata = try decodeMetadata(bytes, header: header, dictionaries: dictionaries)
        return ArchiveRecord(metadata: metadata, compressedBody: body, dictionary: try dictionaries.resolve(header.dictionaryID),
                             bodyFormat: header.version >= 3 ? .packed : .original)
    }

    /// Decodes only the metadata of a message record already checked with `validate`.
    public static func decodeMetadata(_ bytes: ArraySlice<UInt8>, header: RecordHeader,
                                      dictionaries: SegmentDictionaries = SegmentDictionaries()) throws(RecordCodecError) -> ArchiveMetadata {
        guard header.kind == .message else { throw .notAMessage }
        let start = bytes.startIndex + headerSize + header.bodyLength
        let section = bytes[start..<(start + header.metadataLength)]
        if header.version == 1 { return try decodeMetadataFields(section) }
        let dictionary = try dictionaries.resolve(header.dictionaryID)
        let clear: [UInt8]
        do {
            clear = try ZstdSection.decompress(section, dictionary: dictionary, limit: maxMetadataLength)
        } catch {
            throw .metadataDecompression(error.reason)
        }
        return try decodeMetadataFields(clear[...])
    }

    /// The metadata fields as `encodeMetadata` wrote them, without framing or compression.
    static func decodeMetadataFields(_ section: ArraySlice<UInt8>) throws(RecordCodecError) -> ArchiveMetadata {
        var r = ByteReader<RecordCodecError>(section)
        let id = try r.readString()
        let receivedAtMillis = try r.read(Int64.self)
        let listener = try r.readString()
        let clientAddress = try r.readString()
        let helo = try r.readString()
        let tls = try readOptional(&r)
        let sender = try r.readString()
        let recipientCount = Int(try r.read(UInt32.self))
        // Each recipient takes at least 4 bytes; bound the loop by what is there.
        guard recipientCount <= r.remaining / 4 else { throw .truncatedMetadata }
        var recipients = [String]()
        recipients.reserveCapacity(recipientCount)
        for _ in 0..<recipientCount { recipients.append(try r.readString()) }
        let originalSize = try r.read(UInt64.self)
        // Far above any message we accept; keeps every later Int/Int64 conversion exact.
        guard originalSize <= maxOriginalSize else { throw .implausibleLength(originalSize) }
        let sha256 = try r.readBytes(32)
        let messageID = try readOptional(&r)
        let subject = try readOptional(&r)
        let traceHeaders = try r.readString()
        let forwarding = r.remaining > 0 ? try readPromise(&r) : nil
        let envelope = ArchiveEnvelope(
            receivedAt: Date(timeIntervalSince1970: Double(receivedAtMillis) / 1000),
            listener: listener, clientAddress: clientAddress, helo: helo, tls: tls,
            sender: sender, recipients: recipients, traceHeaders: traceHeaders, suggestedID: nil
        )
        return ArchiveMetadata(id: id, envelope: envelope, originalSize: originalSize, sha256: sha256, messageID: messageID, subject: subject,
                               forwarding: forwarding)
    }

    private static func readPromise(_ r: inout ByteReader<RecordCodecError>) throws(RecordCodecError) -> ForwardingPromise {
        guard try r.read(UInt8.self) == 1 else { throw .truncatedMetadata }
        let prefixLength = Int(try r.read(UInt32.self))
        guard prefixLength <= r.remaining else { throw .truncatedMetadata }
        let prefix = try r.readBytes(prefixLength)
        // Each copy takes at least 8 bytes, each recipient at least 4: bound the loops.
        let copyCount = Int(try r.read(UInt32.self))
        guard copyCount <= r.remaining / 8 else { throw .truncatedMetadata }
        var copies: [ForwardingPromise.Copy] = []
        for _ in 0..<copyCount {
            let connection = try r.readString()
            let count = Int(try r.read(UInt32.self))
            guard count <= r.remaining / 4 else { throw .truncatedMetadata }
            var recipients: [String] = []
            for _ in 0..<count { recipients.append(try r.readString()) }
            copies.append(ForwardingPromise.Copy(connection: connection, recipients: recipients))
        }
        guard r.remaining == 0 else { throw .truncatedMetadata }
        return ForwardingPromise(prefix: prefix, copies: copies)
    }

    private static func readOptional(_ r: inout ByteReader<RecordCodecError>) throws(RecordCodecError) -> String? {
        let present = try r.read(UInt8.self)
        return present == 0 ? nil : try r.readString()
    }
}
