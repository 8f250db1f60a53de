import Crypto
import DurableFiles
import Foundation
import JournalReport

/// One message received: its SMTP envelope and session, and for a journal report the
/// report's envelope and the wrapper around the original (docs/ARCHITECTURE.md, "Originals
/// and arrivals"). Every arrival is kept, also when its original was stored before: a
/// second arrival's recipients are part of the record.
public struct Arrival: Sendable, Equatable {
    /// Unique; a peer that receives the arrival in a chain records it under the same id.
    public var id: String
    /// Where it arrived: the node that took it from outside the chain, its listener and
    /// the client's session, MAIL FROM and RCPT TO.
    public var envelope: ArchiveEnvelope
    /// The message as received (what its SMTP transaction carried, after dot-unstuffing
    /// and without the chain's trace): size and SHA-256. For plain mail, the original's.
    public var receivedSize: UInt64
    public var receivedSHA256: [UInt8]
    /// The parsed envelope part of a journal report; nil for plain mail.
    public var report: ReportEnvelope?
    /// Rebuilds the bytes as received from the original; nil when they are the original.
    public var wrapper: WrapperRecipe?
    /// The copies the node promised to forward when it recorded this arrival, if any.
    public var forwarding: ForwardingPromise?

    public init(id: String, envelope: ArchiveEnvelope, receivedSize: UInt64, receivedSHA256: [UInt8], report: ReportEnvelope? = nil,
                wrapper: WrapperRecipe? = nil, forwarding: ForwardingPromise? = nil) {
        self.id = id
        self.envelope = envelope
        self.receivedSize = receivedSize
        self.receivedSHA256 = receivedSHA256
        self.report = report
        self.wrapper = wrapper
        self.forwarding = forwarding
    }

    public var isJournalReport: Bool { report != nil }

    /// The real sender: the report's `Sender` and `On-Behalf-Of` for a journal report (its
    /// MAIL FROM is Exchange's journaling address), else MAIL FROM (none for `<>`).
    public var senders: [String] {
        if let report { return report.senders }
        return envelope.sender.isEmpty ? [] : [envelope.sender]
    }

    /// Every recipient: RCPT TO, and for a report every recipient it names (Bcc and
    /// expanded list members included) and the lists and mailboxes they came through.
    public var recipientAddresses: [String] {
        envelope.recipients + (report?.recipientAddresses ?? [])
    }

    /// What makes two arrivals the same delivery, whatever node or session took them:
    /// the bytes as received, MAIL FROM and the RCPT TO set. A retry of one transaction
    /// (a 250 lost on the way back) has the same key (docs/FORMAT.md, "Arrivals").
    public var contentKey: String {
        var hasher = SHA256()
        hasher.update(data: receivedSHA256)
        hasher.update(data: Array(envelope.sender.utf8) + [0])
        for recipient in envelope.recipients.map({ $0.lowercased() }).sorted() { hasher.update(data: Array(recipient.utf8) + [0]) }
        return Hex.encode(hasher.finalize())
    }

    /// The arrival's contribution to `archive digest`: the original it carried, the bytes
    /// as received, MAIL FROM and the RCPT TO set. Node, session and id are left out so
    /// two nodes that each took a retry of one transaction as a separate arrival agree.
    func digest(originalSHA256: [UInt8], contentKey: String) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: originalSHA256)
        hasher.update(data: Hex.decode(contentKey) ?? [])
        return Array(hasher.finalize())
    }

    /// Both keys, in hex, for the index (`ArrivalKeys`).
    func keys(originalSHA256: [UInt8]) -> ArrivalKeys {
        let key = contentKey
        return ArrivalKeys(contentKey: key, digest: Hex.encode(digest(originalSHA256: originalSHA256, contentKey: key)))
    }
}

/// An arrival's content key and digest (hex): computed when its message is finished, off
/// the writer thread, whose every microsecond per message is a batch's wait for its sync.
struct ArrivalKeys: Sendable, Equatable {
    var contentKey: String
    var digest: String
}

/// What the record around an arrival already says, so the arrival need not repeat it: a
/// message record's own original (its first arrival is in it), or, for an arrival record,
/// only the digest of the original it refers to.
struct ArrivalContext {
    var id: String?
    var receivedAt: Date?
    var originalSize: UInt64?
    var originalSHA256: [UInt8]

    /// In the message record of `m`.
    init(_ m: ArchiveMetadata) {
        id = m.id
        receivedAt = m.receivedAt
        originalSize = m.originalSize
        originalSHA256 = m.sha256
    }

    /// In an arrival record that refers to the original of digest `sha256`.
    init(referring sha256: [UInt8]) {
        originalSHA256 = sha256
    }
}

/// The stored form of an arrival (docs/FORMAT.md, "Arrival record"): the fields in order,
/// `str` = u32 length + UTF-8, `opt` = u8 0/1 then the value. A leading flags byte says
/// which fields are left out because the record around them says them already
/// (`ArrivalContext`): bit 0 the id, bit 1 received-at, bit 2 the received SHA-256 (and
/// with it, in a message record, the received size).
enum ArrivalCodec {
    static let sameID: UInt8 = 1, sameTime: UInt8 = 2, sameBytes: UInt8 = 4
    static func encode(_ a: Arrival, in context: ArrivalContext) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512 + a.envelope.traceHeaders.utf8.count + a.envelope.recipients.count * 64
                            + (a.wrapper.map { $0.head.count + $0.tail.count } ?? 0) + (a.forwarding?.prefix.count ?? 0))
        append(a, in: context, to: &out)
        return out
    }

    static func append(_ a: Arrival, in context: ArrivalContext, to out: inout [UInt8]) {
        let e = a.envelope
        let millis = Int64((e.receivedAt.timeIntervalSince1970 * 1000).rounded())
        let sameID = a.id == context.id
        let sameTime = context.receivedAt.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) == millis } ?? false
        // Plain mail: the message as received is the original; its digest is not repeated.
        let sameBytes = a.receivedSHA256 == context.originalSHA256 && (context.originalSize.map { $0 == a.receivedSize } ?? true)
        out.append((sameID ? Self.sameID : 0) | (sameTime ? Self.sameTime : 0) | (sameBytes ? Self.sameBytes : 0))
        if !sameID { out.appendString(a.id) }
        out.appendString(e.node)
        if !sameTime { out.appendLE(millis) }
        out.appendString(e.listener)
        out.appendString(e.clientAddress)
        out.appendString(e.helo)
        appendOptional(e.tls, to: &out)
        out.appendString(e.sender)
        appendList(e.recipients, to: &out)
        out.appendString(e.traceHeaders)
        if !sameBytes || context.originalSize == nil { out.appendLE(a.receivedSize) }
        if !sameBytes { out.append(contentsOf: a.receivedSHA256) }
        if let report = a.report {
            out.append(1)
            out.append(report.format.rawValue)
            out.append(report.viaDSN ? 1 : 0)
            appendOptional(report.sender, to: &out)
            appendOptional(report.onBehalfOf, to: &out)
            appendOptional(report.subject, to: &out)
            appendOptional(report.messageID, to: &out)
            out.appendLE(UInt32(report.recipients.count))
            for r in report.recipients {
                out.appendString(r.address)
                out.append(r.kind.rawValue)
                appendOptional(r.expandedFrom, to: &out)
                appendOptional(r.forwardedFrom, to: &out)
            }
        } else {
            out.append(0)
        }
        if let wrapper = a.wrapper {
            out.append(1)
            let bytes = wrapper.encoded
            out.appendLE(UInt32(bytes.count))
            out.append(contentsOf: bytes)
        } else {
            out.append(0)
        }
        if let promise = a.forwarding {
            out.append(1)
            PromiseCodec.append(promise, to: &out)
        } else {
            out.append(0)
        }
    }

    /// Reads what `encode` wrote, all of `bytes`.
    static func decode(_ bytes: ArraySlice<UInt8>, in context: ArrivalContext) throws(RecordCodecError) -> Arrival {
        var r = ByteReader<RecordCodecError>(bytes)
        let arrival = try read(&r, in: context)
        guard r.remaining == 0 else { throw .truncatedMetadata }
        return arrival
    }

    /// Reads the fields `append` wrote; the caller checks what follows.
    static func read(_ r: inout ByteReader<RecordCodecError>, in context: ArrivalContext) throws(RecordCodecError) -> Arrival {
        let flags = try r.read(UInt8.self)
        guard flags & ~(sameID | sameTime | sameBytes) == 0 else { throw .truncatedMetadata }
        let id: String
        if flags & sameID != 0 {
            guard let known = context.id else { throw .truncatedMetadata }
            id = known
        } else {
            id = try r.readString()
        }
        let node = try r.readString()
        let receivedAt: Int64
        if flags & sameTime != 0 {
            guard let known = context.receivedAt else { throw .truncatedMetadata }
            receivedAt = Int64((known.timeIntervalSince1970 * 1000).rounded())
        } else {
            receivedAt = try r.read(Int64.self)
        }
        let listener = try r.readString()
        let client = try r.readString()
        let helo = try r.readString()
        let tls = try readOptional(&r)
        let sender = try r.readString()
        let recipients = try readList(&r)
        let trace = try r.readString()
        let sameBytes = flags & Self.sameBytes != 0
        let size: UInt64
        if sameBytes, let known = context.originalSize { size = known } else { size = try r.read(UInt64.self) }
        guard size <= RecordCodec.maxOriginalSize else { throw .implausibleLength(size) }
        let digest = sameBytes ? context.originalSHA256 : try r.readBytes(32)
        var report: ReportEnvelope?
        if try readFlag(&r) {
            guard let format = ReportEnvelope.Format(rawValue: try r.read(UInt8.self)) else { throw .truncatedMetadata }
            let viaDSN = try r.read(UInt8.self) == 1
            let reportSender = try readOptional(&r)
            let onBehalfOf = try readOptional(&r)
            let subject = try readOptional(&r)
            let messageID = try readOptional(&r)
            let count = Int(try r.read(UInt32.self))
            guard count <= r.remaining / 7 else { throw .truncatedMetadata }
            var named: [ReportEnvelope.Recipient] = []
            named.reserveCapacity(count)
            for _ in 0..<count {
                let address = try r.readString()
                guard let kind = ReportEnvelope.Recipient.Kind(rawValue: try r.read(UInt8.self)) else { throw .truncatedMetadata }
                named.append(ReportEnvelope.Recipient(address: address, kind: kind, expandedFrom: try readOptional(&r),
                                                      forwardedFrom: try readOptional(&r)))
            }
            report = ReportEnvelope(format: format, sender: reportSender, onBehalfOf: onBehalfOf, subject: subject,
                                    messageID: messageID, recipients: named, viaDSN: viaDSN)
        }
        var wrapper: WrapperRecipe?
        if try readFlag(&r) {
            let length = Int(try r.read(UInt32.self))
            guard length <= r.remaining else { throw .truncatedMetadata }
            do {
                wrapper = try WrapperRecipe(decoding: try r.readBytes(length))
            } catch {
                throw .truncatedMetadata
            }
        }
        let forwarding = try readFlag(&r) ? try PromiseCodec.read(&r) : nil
        let envelope = ArchiveEnvelope(
            receivedAt: Date(timeIntervalSince1970: Double(receivedAt) / 1000), listener: listener, clientAddress: client, helo: helo,
            tls: tls, sender: sender, recipients: recipients, traceHeaders: trace, node: node)
        return Arrival(id: id, envelope: envelope, receivedSize: size, receivedSHA256: digest, report: report, wrapper: wrapper,
                       forwarding: forwarding)
    }

    static func appendOptional(_ value: String?, to out: inout [UInt8]) {
        if let value {
            out.append(1)
            out.appendString(value)
        } else {
            out.append(0)
        }
    }

    static func appendList(_ values: [String], to out: inout [UInt8]) {
        out.appendLE(UInt32(values.count))
        for value in values { out.appendString(value) }
    }

    static func readOptional(_ r: inout ByteReader<RecordCodecError>) throws(RecordCodecError) -> String? {
        try readFlag(&r) ? try r.readString() : nil
    }

    static func readFlag(_ r: inout ByteReader<RecordCodecError>) throws(RecordCodecError) -> Bool {
        switch try r.read(UInt8.self) {
        case 0: return false
        case 1: return true
        default: throw .truncatedMetadata
        }
    }

    /// A u32 count, then each string; the count is bounded by the bytes left (each string
    /// takes at least 4).
    static func readList(_ r: inout ByteReader<RecordCodecError>) throws(RecordCodecError) -> [String] {
        let count = Int(try r.read(UInt32.self))
        guard count <= r.remaining / 4 else { throw .truncatedMetadata }
        var values: [String] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try r.readString()) }
        return values
    }
}

/// The forwarding promise's stored form, shared by arrival records and the older message
/// records that carried it: u32 length + the prefix, u32 count of copies, per copy the
/// connection (str) and its recipients (u32 count + str each).
enum PromiseCodec {
    static func append(_ promise: ForwardingPromise, to out: inout [UInt8]) {
        out.appendLE(UInt32(promise.prefix.count))
        out.append(contentsOf: promise.prefix)
        out.appendLE(UInt32(promise.copies.count))
        for copy in promise.copies {
            out.appendString(copy.connection)
            ArrivalCodec.appendList(copy.recipients, to: &out)
        }
    }

    static func read(_ r: inout ByteReader<RecordCodecError>) throws(RecordCodecError) -> ForwardingPromise {
        let prefixLength = Int(try r.read(UInt32.self))
        guard prefixLength <= r.remaining else { throw .truncatedMetadata }
        let prefix = try r.readBytes(prefixLength)
        // Each copy takes at least 8 bytes: bound the loop by what is there.
        let copyCount = Int(try r.read(UInt32.self))
        guard copyCount <= r.remaining / 8 else { throw .truncatedMetadata }
        var copies: [ForwardingPromise.Copy] = []
        for _ in 0..<copyCount {
            let connection = try r.readString()
            copies.append(ForwardingPromise.Copy(connection: connection, recipients: try ArrivalCodec.readList(&r)))
        }
        return ForwardingPromise(prefix: prefix, copies: copies)
    }
}
