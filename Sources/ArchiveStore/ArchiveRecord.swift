import Crypto
import DurableFiles
import Foundation

/// Where and how a message arrived: the SMTP session and envelope. Stored verbatim in its
/// arrival's record.
public struct ArchiveEnvelope: Sendable, Equatable {
    public var receivedAt: Date
    /// The node that took the message from outside the chain (its `node_id`); empty in
    /// records written before arrivals were kept.
    public var node: String
    /// The configured name of the listener that accepted the message.
    public var listener: String
    /// The peer address as text, e.g. `192.0.2.7:51234` or `[2001:db8::1]:25`.
    public var clientAddress: String
    public var helo: String
    /// The negotiated TLS version and cipher, or nil for a plaintext session.
    public var tls: String?
    /// The reverse path (`MAIL FROM`), empty for the null sender `<>`.
    public var sender: String
    public var recipients: [String]
    /// Header lines archiverelay itself prepends (its `Received:` trace). Kept apart from
    /// the original so the stored original is byte-identical on every node.
    public var traceHeaders: String
    /// The arrival's id (the listener's transaction id, or the one the first node of the
    /// chain gave it); a new original takes it too. When nil the store mints one.
    public var suggestedID: String?

    public init(
        receivedAt: Date, listener: String, clientAddress: String, helo: String, tls: String?,
        sender: String, recipients: [String], traceHeaders: String = "", suggestedID: String? = nil, node: String = ""
    ) {
        self.receivedAt = receivedAt
        self.node = node
        self.listener = listener
        self.clientAddress = clientAddress
        self.helo = helo
        self.tls = tls
        self.sender = sender
        self.recipients = recipients
        self.traceHeaders = traceHeaders
        self.suggestedID = suggestedID
    }
}

/// Everything a message record says about its original except the compressed body.
public struct ArchiveMetadata: Sendable, Equatable {
    public var id: String
    /// When the arrival that brought the original here was received.
    public var receivedAt: Date
    /// Size in bytes of the original.
    public var originalSize: UInt64
    /// SHA-256 of the original message: the dedupe key and the cross-node comparison key.
    public var sha256: [UInt8]
    /// The `Message-ID` header field body, if the header section had one.
    public var messageID: String?
    /// The `Subject` header field body (unfolded, not MIME-decoded), if present.
    public var subject: String?

    public init(id: String, receivedAt: Date, originalSize: UInt64, sha256: [UInt8], messageID: String?, subject: String?) {
        self.id = id
        self.receivedAt = receivedAt
        self.originalSize = originalSize
        self.sha256 = sha256
        self.messageID = messageID
        self.subject = subject
    }

    public var sha256Hex: String { Hex.encode(sha256) }
}

/// What a record's body frame holds.
public enum BodyFormat: Sendable, Equatable {
    /// The original bytes (record versions 1 and 2).
    case original
    /// The original packed by `Base64Packer` (record version 3).
    case packed
}

/// One archived message as stored: metadata plus the zstd-compressed original.
public struct ArchiveRecord: Sendable, Equatable {
    public var metadata: ArchiveMetadata
    /// The original message, packed or not (`bodyFormat`), compressed as one zstd frame.
    public var compressedBody: [UInt8]
    /// The dictionary body and metadata were compressed with, from the record's segment.
    public var dictionary: ZstdDictionary?
    public var bodyFormat: BodyFormat
    /// The arrival the record holds: a version 4 record its original's first arrival, a
    /// record of versions 1 to 3 its one arrival; nil for a spooled message's record.
    public var arrival: Arrival?

    public init(metadata: ArchiveMetadata, compressedBody: [UInt8], dictionary: ZstdDictionary? = nil,
                bodyFormat: BodyFormat, arrival: Arrival? = nil) {
        self.metadata = metadata
        self.compressedBody = compressedBody
        self.dictionary = dictionary
        self.bodyFormat = bodyFormat
        self.arrival = arrival
    }

    /// The original bytes, decompressed, unpacked and checked against the stored SHA-256.
    public func original() throws -> [UInt8] {
        let size = Int(metadata.originalSize)
        let bytes: [UInt8]
        switch bodyFormat {
        case .original:
            bytes = try ZstdDecompressor.decompress(compressedBody, expectedSize: size, dictionary: dictionary)
        case .packed:
            let packed = try ZstdDecompressor.decompress(compressedBody, atMost: Base64Unpacker.capacity(forOriginalSize: size),
                                                         dictionary: dictionary)
            bytes = try packed.withUnsafeBytes { try Base64Unpacker.unpack($0, originalSize: size) }
        }
        guard Array(SHA256.hash(data: bytes)) == metadata.sha256 else { throw RecordCodecError.digestMismatch }
        return bytes
    }
}
