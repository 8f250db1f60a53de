import Crypto
import Foundation
import JournalReport
import NIOCore

/// A message being received, fed chunk by chunk as it arrives from the network.
///
/// Each chunk is hashed (SHA-256), packed (`Base64Packer`: base64 lines stored as the
/// bytes they encode) and zstd-compressed as it arrives, so the raw message is never held
/// whole: memory per draft is the compressed output, zstd's window and at most
/// `packedSlice` bytes of packed input. The compressed bytes are written straight into the
/// record (`RecordBuffer`) that the writer will append, so finishing copies nothing; past
/// the node's `InflightBudget` they go to a spill file instead of memory.
///
/// A draft owns a compression context: do not copy it and keep using both copies.
public struct MessageDraft: ByteFeed {
    /// The header section is kept (up to this many bytes) only to read `Message-ID` and
    /// `Subject` for the index.
    static let headerScanLimit = 64 * 1024

    let envelope: ArchiveEnvelope
    private let level: Int32
    private let lease: DictionaryLease?
    private var dictionary: ZstdDictionary? { lease?.dictionary }
    /// Packed bytes are handed to zstd in pieces of about this size.
    static let packedSlice = 32 * 1024

    private let compressor: ZstdCompressor
    private var packer = Base64Packer()
    /// Packed bytes not yet compressed.
    private var packed: [UInt8] = []
    /// The packed message's first bytes (what the compressor sees, so what a dictionary
    /// must be trained on), kept only while the store collects dictionary samples.
    private var sample: [UInt8] = []
    private let sampleLimit: Int
    private var hasher = SHA256()
    private let record: RecordBuffer
    private var size: UInt64 = 0
    private var headerScan = HeaderSectionScanner(limit: headerScanLimit)
    /// Part of the message went to zstd before its end (it was larger than `packedSlice`);
    /// otherwise the frame is made, whole, by the last `compressPacked`.
    private var compressing = false

    /// - Parameters:
    ///   - compressionLevel: zstd level (1…19; 3 is zstd's default trade-off).
    ///   - dictionary: compress against this dictionary (the store's current one).
    ///   - sampleLimit: keep up to this many leading packed bytes as a dictionary training sample.
    ///   - budget: the memory the record may take (the store's); by default memory without a limit.
    public init(envelope: ArchiveEnvelope, compressionLevel: Int = 3, dictionary: ZstdDictionary? = nil, sampleLimit: Int = 0,
                budget: InflightBudget? = nil) throws {
        self.envelope = envelope
        self.level = Int32(compressionLevel)
        self.lease = dictionary.map(DictionaryLease.init)
        self.sampleLimit = sampleLimit
        self.compressor = try ZstdCompressor(level: level, dictionary: dictionary)
        self.record = RecordBuffer(budget: budget ?? .unlimited)
    }

    /// Feeds the next bytes of the original message (exactly as received, after SMTP
    /// dot-unstuffing, without the trace headers); `append(_:)` and `append(bytes:)` come
    /// from `ByteFeed`.
    public mutating func append(raw: UnsafeRawBufferPointer) throws {
        if packed.capacity == 0 {
            // Sized from the first chunk (most messages arrive in one or two), instead of
            // growing both from nothing: packing never grows the input by more than its
            // tags, and zstd output stays well under half of mail text.
            packed.reserveCapacity(min(raw.count + raw.count / 16 + 64, Self.packedSlice + 4096))
            record.expect(RecordCodec.headerSize + raw.count / 2 + 512)
        }
        hasher.update(bufferPointer: raw)
        size += UInt64(raw.count)
        headerScan.feed(raw)
        var offset = 0
        while offset < raw.count {
            let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<min(raw.count, offset + Self.packedSlice)])
            packer.pack(slice, into: &packed)
            offset += slice.count
            if packed.count >= Self.packedSlice { try compressPacked() }
        }
    }

    private mutating func compressPacked(last: Bool = false) throws {
        if last { packer.finish(into: &packed) }
        packer.closeToken(in: &packed)
        if sample.count < sampleLimit {
            sample.append(contentsOf: packed.prefix(sampleLimit - sample.count))
        }
        if last && !compressing {
            try compressor.compressWhole(packed, into: record)
        } else {
            try compressor.compress(packed, into: record)
            compressing = true
        }
        packed.removeAll(keepingCapacity: true)
    }

    /// Bytes of the original appended so far.
    public var originalSize: UInt64 { size }

    /// The SHA-256 of the original appended so far (what `finish` records once it is whole).
    public var originalDigest: [UInt8] { Array(hasher.finalize()) }

    /// Completes the message: ends the zstd frame, fixes the digest and encodes the record
    /// of the original and the body of its arrival's record, with the forwarding promise,
    /// if any. `received` describes the message as received when it was not the original
    /// itself (a journal report); by default it was.
    public consuming func finish(forwarding: ForwardingPromise? = nil, received: ReceivedForm? = nil) throws -> FinishedMessage {
        try compressPacked(last: true)
        if compressing { try compressor.finish(into: record) }
        let digest = Array(hasher.finalize())
        let fields = headerScan.fields()
        let id = envelope.suggestedID ?? ArchiveID.make()
        let metadata = ArchiveMetadata(id: id, receivedAt: envelope.receivedAt, originalSize: size, sha256: digest,
                                       messageID: fields.messageID, subject: fields.subject)
        var arrivalEnvelope = envelope
        arrivalEnvelope.suggestedID = nil
        let arrival = Arrival(id: id, envelope: arrivalEnvelope, receivedSize: received?.size ?? size,
                              receivedSHA256: received?.sha256 ?? digest, report: received?.report, wrapper: received?.wrapper,
                              forwarding: forwarding)
        let compressedSize = record.count - RecordCodec.headerSize
        // The record of a new original holds its first arrival; should the original be
        // stored already, the writer encodes the arrival's record of its own instead.
        try RecordCodec.seal(record, metadata: metadata, arrival: arrival, dictionary: dictionary, level: level)
        return FinishedMessage(metadata: metadata, arrival: arrival, arrivalKeys: arrival.keys(originalSHA256: digest), level: level,
                               compressedSize: compressedSize, encoded: record, lease: lease, sample: sample)
    }
}

/// A message as received that was not its original: a journal report, unwrapped.
public struct ReceivedForm: Sendable {
    public var size: UInt64
    public var sha256: [UInt8]
    public var report: ReportEnvelope
    public var wrapper: WrapperRecipe

    public init(size: UInt64, sha256: [UInt8], report: ReportEnvelope, wrapper: WrapperRecipe) {
        self.size = size
        self.sha256 = sha256
        self.report = report
        self.wrapper = wrapper
    }
}

/// A fully received message, ready to `commit`: its original compressed and encoded as a
/// message record, and its arrival, compressed, waiting for the reference to the original
/// the writer gives it (a new record, or the one that already holds the original).
public struct FinishedMessage: Sendable {
    public let metadata: ArchiveMetadata
    public let arrival: Arrival
    let arrivalKeys: ArrivalKeys
    /// The zstd level of the record (an arrival record of its own gets the same).
    let level: Int32
    /// Size of the zstd body alone.
    public let compressedSize: Int
    /// The complete record as it will be appended to a segment: in memory, or partly in
    /// its spill file. Released (memory and file) with the last copy of the message.
    let encoded: RecordBuffer
    /// The dictionary the record needs in its segment (written there before it).
    let lease: DictionaryLease?
    var dictionary: ZstdDictionary? { lease?.dictionary }
    /// Leading bytes for dictionary training; empty unless the store asked for them.
    let sample: [UInt8]

    public var id: String { metadata.id }
    public var sha256: [UInt8] { metadata.sha256 }
    public var originalSize: UInt64 { metadata.originalSize }
    public var messageID: String? { metadata.messageID }
    public var subject: String? { metadata.subject }
    /// On-disk size of the record.
    public var storedSize: Int { encoded.count }

    /// The record's bytes in one array (a copy; reads the spill file if there is one).
    var encodedRecord: [UInt8] {
        get throws { try encoded.bytes(0..<encoded.count) }
    }
}
