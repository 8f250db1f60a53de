import DurableFiles
import ForwardQueue

/// Any bytes as the forward queue's journal (docs/FORMAT.md, "Forward queue"). Random
/// bytes almost never pass the frame CRCs, so the input is replayed twice: as it is, and
/// cut into payloads (a length byte, a kind byte, then that many bytes) that are framed
/// with correct magic, version and CRCs, so the payload decoder meets hostile lengths,
/// unknown kinds, bad UTF-8 and ids for entries that do not exist. It must report,
/// never crash or hang.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    let raw = ForwardQueue.replayJournal(bytes)
    precondition(raw.entries.count <= raw.report.records)

    var journal: [UInt8] = []
    var offset = 0
    while offset + 2 <= bytes.count {
        let length = Int(bytes[offset]) * 4
        let kind = UInt16(bytes[offset + 1] % 8)
        let end = min(bytes.count, offset + 2 + length)
        journal += frame(kind: kind, payload: Array(bytes[(offset + 2)..<end]))
        offset = end
    }
    let framed = ForwardQueue.replayJournal(journal)
    precondition(framed.report.truncatedAt == nil, "well-framed bytes were taken for a torn tail")
    return 0
}

/// A frame as the journal writes it: magic, version 1, kind, payload length, header CRC,
/// payload, zero padding to 8, record CRC and total length (all little-endian).
private func frame(kind: UInt16, payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x41, 0x52, 0x51, 0x4A]
    append(UInt16(1), to: &out)
    append(kind, to: &out)
    append(UInt32(payload.count), to: &out)
    append(CRC32C.checksum(out[...]), to: &out)
    out += payload
    out += [UInt8](repeating: 0, count: (8 - out.count % 8) % 8)
    let crc = CRC32C.checksum(out[...])
    append(crc, to: &out)
    append(UInt32(out.count + 4), to: &out)
    return out
}

private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}
