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
    /// One arrival of an original stored in a message record (docs/FORMAT.md, "Arrival
    /// record"): body = the arrival, compressed; metadata = where its original is.
    case arrival = 3
}

/// What a valid record holds besides a body: what the index, recovery and the readers need.
public enum RecordContents: Sendable, Equatable {
    /// A message record without an arrival (a spooled message's, or one written by hand).
    case original(ArchiveMetadata)
    /// An arrival record and where its original is.
    case arrival(Arrival, OriginalReference)
    /// A message record and the arrival that brought its original: the first arrival,
    /// which is written with the original (every version; versions 1 to 3 knew no other).
    case originalWithArrival(ArchiveMetadata, Arrival)

    /// The original this record stores, if it stores one.
    public var original: ArchiveMetadata? {
        switch self {
        case .original(let m), .originalWithArrival(let m, _): return m
        case .arrival: return nil
        }
    }

    /// The arrival this record stores, if any.
    public var arrival: Arrival? {
        switch self {
        case .original: return nil
        case .arrival(let a, _), .originalWithArrival(_, let a): return a
        }
    }
}

/// Where an arrival's original is stored: its digest and its message record.
public struct OriginalReference: Sendable, Hashable {
    public var sha256: [UInt8]
    public var position: ArchivePosition

    public init(sha256: [UInt8], position: ArchivePosition) {
        self.sha256 = sha256
        self.position = position
    }

    static let encodedSize = 48

    var encoded: [UInt8] {
        var out = sha256
        out.appendLE(position.segment)
        out.appendLE(UInt64(position.offset))
        return out
    }
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
    /// Bytes a record of an encrypted segment holds beyond its contents (nonce and tag,
    /// `SegmentCipher.overhead`); 0 in the clear. The header does not say: its segment does.
    public var sealedOverhead = 0

    /// Total on-disk size: header, body, metadata (and in an encrypted segment nonce and
    /// tag), zero padding to 8, 8-byte trailer.
    public var recordLength: Int {
        RecordCodec.align(RecordCodec.headerSize + sealedOverhead + bodyLength + metadataLength) + RecordCodec.trailerSize
    }

    /// The size of the same record in the clear: what a reader of an encrypted one gets.
    var plaintextLength: Int {
        RecordCodec.align(RecordCodec.headerSize + bodyLength + metadataLength) + RecordCodec.trailerSize
    }
}

/// Encodes and decodes one archive record independent of where it is stored (segment
/// files now, the forward-queue spool later). Byte layout: docs/FORMAT.md, "Record".
public enum RecordCodec {
    /// "ARCR" in file order.
    public static let magic: UInt32 = 0x5243_5241
    /// Version written for message and arrival records; versions 1 (clear metadata), 2
    /// (body not packed) and 3 (the arrival in the message record) are still read.
    public static let version: UInt16 = 4
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

    /// `version` is the record's: 4, or, to write a record as an older version did, 3 or 2
    /// (their layout holds exactly one arrival).
    static func seal(_ buffer: inout [UInt8], metadata: ArchiveMetadata, arrival: Arrival?, version written: UInt16,
                     dictionary: ZstdDictionary?, level: Int32) throws {
        let fields: [UInt8]
        if written < 4 {
            guard let arrival else { throw RecordCodecError.truncatedMetadata }
            fields = encodeLegacyMetadata(metadata, arrival)
        } else {
            fields = encodeMetadata(metadata, arrival: arrival)
        }
        let section = try ZstdSection.compress(fields, dictionary: dictionary, level: level)
        finish(&buffer, version: written, kind: .message, metadataSection: section, dictionaryID: dictionary?.id ?? 0)
    }

    /// The metadata of versions 1 to 3 (docs/FORMAT.md, "Record"): the message's one
    /// arrival inside its record.
    static func encodeLegacyMetadata(_ m: ArchiveMetadata, _ arrival: Arrival) -> [UInt8] {
        var out = [UInt8]()
        let e = arrival.envelope
        out.appendString(m.id)
        out.appendLE(Int64((e.receivedAt.timeIntervalSince1970 * 1000).rounded()))
        out.appendString(e.listener)
        out.appendString(e.clientAddress)
        out.appendString(e.helo)
        ArrivalCodec.appendOptional(e.tls, to: &out)
        out.appendString(e.sender)
        ArrivalCodec.appendList(e.recipients, to: &out)
        out.appendLE(m.originalSize)
        out.append(contentsOf: m.sha256)
        ArrivalCodec.appendOptional(m.messageID, to: &out)
        ArrivalCodec.appendOptional(m.subject, to: &out)
        out.appendString(e.traceHeaders)
        if let promise = arrival.forwarding {
            out.append(1)
            PromiseCodec.append(promise, to: &out)
        }
        return out
    }

    /// Completes a draft's record, whose bytes after the header are the packed body:
    /// metadata (compressed with the body's dictionary), padding, header, trailer. The
    /// checksum comes from the one the record kept of its bytes, so a spilled record is
    /// not read back.
    static func seal(_ record: RecordBuffer, metadata: ArchiveMetadata, arrival: Arrival?, dictionary: ZstdDictionary?,
                     level: Int32) throws {
        let section = try ZstdSection.compress(encodeMetadata(metadata, arrival: arrival), dictionary: dictionary, level: level)
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
        buffer.replaceSubrange(0..<headerSize, with: header(version: version, kind: kind, bodyLength: bodyLength,
                                                           metadataLength: metadataSection.count, dictionaryID: dictionaryID))
        appendTrailer(&buffer)
    }

    /// Pads a record's bytes (header and contents) to 8 and appends the trailer: the CRC
    /// of everything before it, and the total length.
    static func appendTrailer(_ buffer: inout [UInt8]) {
        buffer.padTo(alignment: alignment)
        let crc = CRC32C.checksum(buffer)
        buffer.appendLE(crc)
        buffer.appendLE(UInt32(buffer.count + 4))
    }

    /// One-shot encoding of a complete message record, in `version` (4, or 3 and 2 as
    /// older versions wrote them: a record read back encodes to its bytes).
    public static func encode(_ record: ArchiveRecord, version: UInt16 = RecordCodec.version, level: Int32 = 3) throws -> [UInt8] {
        var buffer = beginRecord(reservingBody: record.compressedBody.count)
        buffer.append(contentsOf: record.compressedBody)
        try seal(&buffer, metadata: record.metadata, arrival: record.arrival, version: record.bodyFormat == .original ? 2 : version,
                 dictionary: record.dictionary, level: level)
        return buffer
    }

    /// A version 4 message record's metadata (docs/FORMAT.md, "Record"): the original's
    /// fields, then the arrival that brought it, if the record holds one.
    static func encodeMetadata(_ m: ArchiveMetadata, arrival: Arrival? = nil) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256 + (m.messageID?.utf8.count ?? 0) + (m.subject?.utf8.count ?? 0))
        out.appendString(m.id)
        out.appendLE(Int64((m.receivedAt.timeIntervalSince1970 * 1000).rounded()))
        out.appendLE(m.originalSize)
        out.append(contentsOf: m.sha256)
        ArrivalCodec.appendOptional(m.messageID, to: &out)
        ArrivalCodec.appendOptional(m.subject, to: &out)
        if let arrival {
            out.append(1)
            ArrivalCodec.append(arrival, in: ArrivalContext(m), to: &out)
        }
        return out
    }

    /// An arrival record: `section` (the arrival, compressed with `dictionaryID`'s
    /// dictionary, made off the writer thread) and the reference the writer fills in.
    static func arrivalRecord(section: [UInt8], dictionaryID: UInt32, original: OriginalReference) -> [UInt8] {
        var buffer = beginRecord(reservingBody: section.count)
        buffer.append(contentsOf: section)
        finish(&buffer, version: version, kind: .arrival, metadataSection: original.encoded, dictionaryID: dictionaryID)
        return buffer
    }

    /// The body of an arrival record, for `arrivalRecord`.
    static func arrivalSection(_ arrival: Arrival, originalSHA256: [UInt8], dictionary: ZstdDictionary?,
                               level: Int32) throws(ZstdError) -> [UInt8] {
        var fields: [UInt8] = []
        ArrivalCodec.append(arrival, in: ArrivalContext(referring: originalSHA256), to: &fields)
        return try ZstdSection.compress(fields, dictionary: dictionary, level: level)
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

    /// Checks the whole-record CRC and trailer; returns the header on success. A record of
    /// an encrypted segment (`sealedOverhead`) is checked as it is on disk: no key needed.
    public static func validate(_ bytes: ArraySlice<UInt8>, sealedOverhead: Int = 0) throws(RecordCodecError) -> RecordHeader {
        var header = try decodeHeader(bytes)
        header.sealedOverhead = sealedOverhead
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
        let contents = try decodeContents(bytes, header: header, dictionaries: dictionaries)
        guard let metadata = contents.original else { throw .notAMessage }
        return ArchiveRecord(metadata: metadata, compressedBody: body, dictionary: try dictionaries.resolve(header.dictionaryID),
                             bodyFormat: header.version >= 3 ? .packed : .original, arrival: contents.arrival)
    }

    /// Decodes what a message or arrival record already checked with `validate` holds,
    /// without its message body.
    public static func decodeContents(_ bytes: ArraySlice<UInt8>, header: RecordHeader,
                                      dictionaries: SegmentDictionaries = SegmentDictionaries()) throws(RecordCodecError) -> RecordContents {
        let bodyStart = bytes.startIndex + headerSize
        let start = bodyStart + header.bodyLength
        let section = bytes[start..<(start + header.metadataLength)]
        switch header.kind {
        case .dictionary:
            throw .notAMessage
        case .arrival:
            guard header.metadataLength == OriginalReference.encodedSize else { throw .truncatedMetadata }
            var r = ByteReader<RecordCodecError>(section)
            let digest = try r.readBytes(32)
            let segment = try r.read(UInt64.self)
            let offset = try r.read(UInt64.self)
            guard offset <= maxOriginalSize else { throw .truncatedMetadata }
            let clear = try decompress(bytes[bodyStart..<start], dictionaryID: header.dictionaryID, dictionaries: dictionaries)
            var fields = ByteReader<RecordCodecError>(clear[...])
            let arrival = try ArrivalCodec.read(&fields, in: ArrivalContext(referring: digest))
            guard fields.remaining == 0 else { throw .truncatedMetadata }
            return .arrival(arrival, OriginalReference(sha256: digest, position: ArchivePosition(segment: segment, offset: Int(offset))))
        case .message:
            if header.version == 1 { return try decodeLegacyFields(section) }
            let clear = try decompress(section, dictionaryID: header.dictionaryID, dictionaries: dictionaries)
            if header.version <= 3 { return try decodeLegacyFields(clear[...]) }
            return try decodeMetadataFields(clear[...])
        }
    }

    private static func decompress(_ section: ArraySlice<UInt8>, dictionaryID: UInt32,
                                   dictionaries: SegmentDictionaries) throws(RecordCodecError) -> [UInt8] {
        let dictionary = try dictionaries.resolve(dictionaryID)
        do {
            return try ZstdSection.decompress(section, dictionary: dictionary, limit: maxMetadataLength)
        } catch {
            throw .metadataDecompression(error.reason)
        }
    }

    /// A version 4 message record's metadata as `encodeMetadata` wrote it.
    static func decodeMetadataFields(_ section: ArraySlice<UInt8>) throws(RecordCodecError) -> RecordContents {
        var r = ByteReader<RecordCodecError>(section)
        let id = try r.readString()
        let receivedAt = try r.read(Int64.self)
        let originalSize = try r.read(UInt64.self)
        guard originalSize <= maxOriginalSize else { throw .implausibleLength(originalSize) }
        let sha256 = try r.readBytes(32)
        let messageID = try ArrivalCodec.readOptional(&r)
        let subject = try ArrivalCodec.readOptional(&r)
        let metadata = ArchiveMetadata(id: id, receivedAt: Date(timeIntervalSince1970: Double(receivedAt) / 1000),
                                       originalSize: originalSize, sha256: sha256, messageID: messageID, subject: subject)
        guard r.remaining > 0 else { return .original(metadata) }
        guard try ArrivalCodec.readFlag(&r) else { throw .truncatedMetadata }
        let arrival = try ArrivalCodec.read(&r, in: ArrivalContext(metadata))
        guard r.remaining == 0 else { throw .truncatedMetadata }
        return .originalWithArrival(metadata, arrival)
    }

    /// The metadata of versions 1 to 3, where the record was its message's only arrival
    /// (the arrival's id is the message's, its node unknown).
    static func decodeLegacyFields(_ section: ArraySlice<UInt8>) throws(RecordCodecError) -> RecordContents {
        var r = ByteReader<RecordCodecError>(section)
        let id = try r.readString()
        let receivedAtMillis = try r.read(Int64.self)
        let listener = try r.readString()
        let clientAddress = try r.readString()
        let helo = try r.readString()
        let tls = try ArrivalCodec.readOptional(&r)
        let sender = try r.readString()
        let recipients = try ArrivalCodec.readList(&r)
        let originalSize = try r.read(UInt64.self)
        // Far above any message we accept; keeps every later Int/Int64 conversion exact.
        guard originalSize <= maxOriginalSize else { throw .implausibleLength(originalSize) }
        let sha256 = try r.readBytes(32)
        let messageID = try ArrivalCodec.readOptional(&r)
        let subject = try ArrivalCodec.readOptional(&r)
        let traceHeaders = try r.readString()
        var forwarding: ForwardingPromise?
        if r.remaining > 0 {
            guard try r.read(UInt8.self) == 1 else { throw .truncatedMetadata }
            forwarding = try PromiseCodec.read(&r)
            guard r.remaining == 0 else { throw .truncatedMetadata }
        }
        let receivedAt = Date(timeIntervalSince1970: Double(receivedAtMillis) / 1000)
        let envelope = ArchiveEnvelope(receivedAt: receivedAt, listener: listener, clientAddress: clientAddress, helo: helo, tls: tls,
                                       sender: sender, recipients: recipients, traceHeaders: traceHeaders)
        let metadata = ArchiveMetadata(id: id, receivedAt: receivedAt, originalSize: originalSize, sha256: sha256, messageID: messageID,
                                       subject: subject)
        return .originalWithArrival(metadata, Arrival(id: id, envelope: envelope, receivedSize: originalSize, receivedSHA256: sha256,
                                         forwarding: forwarding))
    }
}
