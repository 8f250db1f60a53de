import ArchiveStore
import DurableFiles
import Foundation

/// One change to the forward queue, as appended to the journal. Replaying every record in
/// order rebuilds the queue (docs/FORMAT.md, "Forward queue").
enum JournalRecord: Equatable, Sendable {
    /// The id the next entry gets is at least this: written first in a compacted
    /// journal so ids never repeat.
    case sequence(nextID: UInt64)
    case enqueue(QueueEntry)
    /// The peer answered 250 to the final dot.
    case delivered(id: UInt64)
    case held(id: UInt64, reason: String)
    case released(id: UInt64)
    case deleted(id: UInt64)
    /// Every archive record up to this one that carries a forwarding promise has its
    /// entries earlier in the journal (they were written in archive order). After a crash
    /// the queue takes the promises of the records after it from the archive.
    case archivedThrough(ArchivePosition)

    var kind: UInt16 {
        switch self {
        case .sequence: return 1
        case .enqueue: return 2
        case .delivered: return 3
        case .held: return 4
        case .released: return 5
        case .deleted: return 6
        case .archivedThrough: return 7
        }
    }
}

/// Frames journal records: `ARQJ`, version, kind, payload length, header CRC32C, payload,
/// zero padding to 8, record CRC32C and total length. Mirrors the archive record so a torn
/// length is caught by the header CRC and a torn payload by the record CRC.
enum JournalFrame {
    /// "ARQJ" in file order.
    static let magic: UInt32 = 0x4A51_5241
    static let version: UInt16 = 1
    static let headerSize = 16
    static let trailerSize = 8
    static let alignment = 8
    /// Far above any real entry (1000 recipients and a trace header), far below memory trouble.
    static let maxPayload = 16 << 20

    static func align(_ n: Int) -> Int { (n + alignment - 1) & ~(alignment - 1) }

    static func encode(_ record: JournalRecord) -> [UInt8] {
        let payload = encodePayload(record)
        var frame: [UInt8] = []
        frame.appendLE(magic)
        frame.appendLE(version)
        frame.appendLE(record.kind)
        frame.appendLE(UInt32(payload.count))
        frame.appendLE(CRC32C.checksum(frame))
        frame += payload
        frame.padTo(alignment: alignment)
        let length = UInt32(frame.count + trailerSize)
        frame.appendLE(CRC32C.checksum(frame))
        frame.appendLE(length)
        return frame
    }

    enum Decoded: Equatable {
        case valid(JournalRecord, length: Int)
        /// The bytes end before the frame does (a torn tail when nothing valid follows).
        case incomplete(String)
        case invalid(String)
        /// Checksums and length hold but the payload cannot be read (an unknown kind from
        /// a later version, or corruption that kept the CRC): not a torn write. Skipped and
        /// reported; the frames after it count.
        case unreadable(String, length: Int)
    }

    /// Decodes the frame at the start of `bytes`.
    static func decode(_ bytes: ArraySlice<UInt8>) -> Decoded {
        guard bytes.count >= headerSize else { return .incomplete("\(bytes.count) bytes, short of a frame header") }
        var r = FrameReader(bytes.prefix(headerSize))
        do {
            guard try r.read(UInt32.self) == magic else { return .invalid("bad magic") }
            let version = try r.read(UInt16.self)
            let kind = try r.read(UInt16.self)
            let payloadLength = Int(try r.read(UInt32.self))
            let headerCRC = try r.read(UInt32.self)
            let start = bytes.startIndex
            guard CRC32C.checksum(bytes[start..<start + 12]) == headerCRC else { return .invalid("header checksum mismatch") }
            guard version == Self.version else { return .invalid("unsupported version \(version)") }
            guard payloadLength <= maxPayload else { return .invalid("implausible payload length \(payloadLength)") }
            let length = align(headerSize + payloadLength) + trailerSize
            guard bytes.count >= length else { return .incomplete("frame of \(length) bytes, \(bytes.count) present") }
            var t = FrameReader(bytes[(start + length - trailerSize)..<(start + length)])
            let recordCRC = try t.read(UInt32.self)
            let storedLength = try t.read(UInt32.self)
            guard CRC32C.checksum(bytes[start..<(start + length - trailerSize)]) == recordCRC else {
                return .invalid("record checksum mismatch")
            }
            guard Int(storedLength) == length else { return .invalid("length trailer mismatch") }
            let payload = bytes[(start + headerSize)..<(start + headerSize + payloadLength)]
            do {
                return .valid(try decodePayload(kind: kind, payload), length: length)
            } catch {
                return .unreadable("\(error)", length: length)
            }
        } catch {
            return .invalid("\(error)")
        }
    }

    private static func encodePayload(_ record: JournalRecord) -> [UInt8] {
        var w: [UInt8] = []
        switch record {
        case .sequence(let next): w.appendLE(next)
        case .archivedThrough(let position):
            w.appendLE(position.segment)
            w.appendLE(UInt64(position.offset))
        case .delivered(let id), .released(let id), .deleted(let id): w.appendLE(id)
        case .held(let id, let reason):
            w.appendLE(id)
            w.appendString(reason)
        case .enqueue(let e):
            w.appendLE(e.id)
            w.appendLE(Int64((e.enqueuedAt.timeIntervalSince1970 * 1000).rounded()))
            w.appendString(e.item.connection)
            switch e.item.reference {
            case .archive(let segment, let offset):
                w.appendLE(UInt8(1))
                w.appendLE(segment)
                w.appendLE(UInt64(offset))
            case .spool(let name):
                w.appendLE(UInt8(2))
                w.appendString(name)
            }
            w.appendLE(e.item.size)
            w.appendString(e.item.sender)
            w.appendLE(UInt32(e.item.recipients.count))
            for recipient in e.item.recipients { w.appendString(recipient) }
            w.appendBlob(e.item.prefix)
        }
        return w
    }

    private static func decodePayload(kind: UInt16, _ payload: ArraySlice<UInt8>) throws(FrameDecodingError) -> JournalRecord {
        var r = FrameReader(payload)
        let record: JournalRecord
        switch kind {
        case 1: record = .sequence(nextID: try r.read(UInt64.self))
        case 2: record = .enqueue(try decodeEntry(&r))
        case 3: record = .delivered(id: try r.read(UInt64.self))
        case 4: record = .held(id: try r.read(UInt64.self), reason: try r.readString())
        case 5: record = .released(id: try r.read(UInt64.self))
        case 6: record = .deleted(id: try r.read(UInt64.self))
        case 7:
            let segment = try r.read(UInt64.self)
            let offset = try r.read(UInt64.self)
            guard offset <= UInt64(Int.max) else { throw FrameDecodingError(reason: "offset out of range") }
            record = .archivedThrough(ArchivePosition(segment: segment, offset: Int(offset)))
        default: throw FrameDecodingError(reason: "unknown record kind \(kind)")
        }
        guard r.isAtEnd else { throw FrameDecodingError(reason: "\(r.remaining) stray bytes after the record") }
        return record
    }

    private static func decodeEntry(_ r: inout FrameReader) throws(FrameDecodingError) -> QueueEntry {
        let id = try r.read(UInt64.self)
        let millis = try r.read(Int64.self)
        let connection = try r.readString()
        let reference: MessageReference
        switch try r.read(UInt8.self) {
        case 1:
            let segment = try r.read(UInt64.self)
            let offset = try r.read(UInt64.self)
            guard offset <= UInt64(Int.max) else { throw FrameDecodingError(reason: "offset out of range") }
            reference = .archive(segment: segment, offset: Int(offset))
        case 2: reference = .spool(try r.readString())
        default: throw FrameDecodingError(reason: "unknown message reference")
        }
        let size = try r.read(UInt64.self)
        let sender = try r.readString()
        let count = Int(try r.read(UInt32.self))
        guard count <= r.remaining / 4 else { throw FrameDecodingError(reason: "recipient count \(count) exceeds the frame") }
        var recipients: [String] = []
        recipients.reserveCapacity(count)
        for _ in 0..<count { recipients.append(try r.readString()) }
        let prefix = try r.readBlob()
        let item = QueueItem(connection: connection, reference: reference, size: size, sender: sender,
                             recipients: recipients, prefix: prefix)
        return QueueEntry(id: id, item: item, enqueuedAt: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}
