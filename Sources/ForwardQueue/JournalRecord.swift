import ArchiveStore
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
        var w = FrameWriter()
        w.u32(magic)
        w.u16(version)
        w.u16(record.kind)
        w.u32(UInt32(payload.count))
        var frame = w.bytes
        var crc = FrameWriter()
        crc.u32(CRC32C.checksum(frame))
        frame += crc.bytes + payload
        frame += [UInt8](repeating: 0, count: align(frame.count) - frame.count)
        var trailer = FrameWriter()
        trailer.u32(CRC32C.checksum(frame))
        trailer.u32(UInt32(frame.count + trailerSize))
        return frame + trailer.bytes
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
            guard try r.integer(UInt32.self) == magic else { return .invalid("bad magic") }
            let version = try r.integer(UInt16.self)
            let kind = try r.integer(UInt16.self)
            let payloadLength = Int(try r.integer(UInt32.self))
            let headerCRC = try r.integer(UInt32.self)
            let start = bytes.startIndex
            guard CRC32C.checksum(bytes[start..<start + 12]) == headerCRC else { return .invalid("header checksum mismatch") }
            guard version == Self.version else { return .invalid("unsupported version \(version)") }
            guard payloadLength <= maxPayload else { return .invalid("implausible payload length \(payloadLength)") }
            let length = align(headerSize + payloadLength) + trailerSize
            guard bytes.count >= length else { return .incomplete("frame of \(length) bytes, \(bytes.count) present") }
            var t = FrameReader(bytes[(start + length - trailerSize)..<(start + length)])
            let recordCRC = try t.integer(UInt32.self)
            let storedLength = try t.integer(UInt32.self)
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
        var w = FrameWriter()
        switch record {
        case .sequence(let next): w.u64(next)
        case .archivedThrough(let position):
            w.u64(position.segment)
            w.u64(UInt64(position.offset))
        case .delivered(let id), .released(let id), .deleted(let id): w.u64(id)
        case .held(let id, let reason):
            w.u64(id)
            w.string(reason)
        case .enqueue(let e):
            w.u64(e.id)
            w.i64(Int64((e.enqueuedAt.timeIntervalSince1970 * 1000).rounded()))
            w.string(e.item.connection)
            switch e.item.reference {
            case .archive(let segment, let offset):
                w.u8(1)
                w.u64(segment)
                w.u64(UInt64(offset))
            case .spool(let name):
                w.u8(2)
                w.string(name)
            }
            w.u64(e.item.size)
            w.string(e.item.sender)
            w.u32(UInt32(e.item.recipients.count))
            for recipient in e.item.recipients { w.string(recipient) }
            w.blob(e.item.prefix)
        }
        return w.bytes
    }

    private static func decodePayload(kind: UInt16, _ payload: ArraySlice<UInt8>) throws(FrameDecodingError) -> JournalRecord {
        var r = FrameReader(payload)
        let record: JournalRecord
        switch kind {
        case 1: record = .sequence(nextID: try r.integer(UInt64.self))
        case 2: record = .enqueue(try decodeEntry(&r))
        case 3: record = .delivered(id: try r.integer(UInt64.self))
        case 4: record = .held(id: try r.integer(UInt64.self), reason: try r.string())
        case 5: record = .released(id: try r.integer(UInt64.self))
        case 6: record = .deleted(id: try r.integer(UInt64.self))
        case 7:
            let segment = try r.integer(UInt64.self)
            let offset = try r.integer(UInt64.self)
            guard offset <= UInt64(Int.max) else { throw FrameDecodingError(reason: "offset out of range") }
            record = .archivedThrough(ArchivePosition(segment: segment, offset: Int(offset)))
        default: throw FrameDecodingError(reason: "unknown record kind \(kind)")
        }
        guard r.isAtEnd else { throw FrameDecodingError(reason: "\(r.remaining) stray bytes after the record") }
        return record
    }

    private static func decodeEntry(_ r: inout FrameReader) throws(FrameDecodingError) -> QueueEntry {
        let id = try r.integer(UInt64.self)
        let millis = try r.integer(Int64.self)
        let connection = try r.string()
        let reference: MessageReference
        switch try r.integer(UInt8.self) {
        case 1:
            let segment = try r.integer(UInt64.self)
            let offset = try r.integer(UInt64.self)
            guard offset <= UInt64(Int.max) else { throw FrameDecodingError(reason: "offset out of range") }
            reference = .archive(segment: segment, offset: Int(offset))
        case 2: reference = .spool(try r.string())
        default: throw FrameDecodingError(reason: "unknown message reference")
        }
        let size = try r.integer(UInt64.self)
        let sender = try r.string()
        let count = Int(try r.integer(UInt32.self))
        guard count <= r.remaining / 4 else { throw FrameDecodingError(reason: "recipient count \(count) exceeds the frame") }
        var recipients: [String] = []
        recipients.reserveCapacity(count)
        for _ in 0..<count { recipients.append(try r.string()) }
        let prefix = try r.blob()
        let item = QueueItem(connection: connection, reference: reference, size: size, sender: sender,
                             recipients: recipients, prefix: prefix)
        return QueueEntry(id: id, item: item, enqueuedAt: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}
