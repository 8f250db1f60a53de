import ArchiveStore
import DurableFiles
import Foundation

/// Any bytes as an archive record. Random bytes almost never pass the two CRCs, so the
/// target first makes the checksums (and the trailer) right for whatever lengths the
/// header claims: the decoder then meets hostile lengths, metadata (clear, version 1, and
/// zstd-compressed, versions 2 to 4), arrival records and zstd bodies. It must throw, never crash or hang.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    guard bytes.count >= RecordCodec.headerSize else {
        _ = try? RecordCodec.decode(bytes[...])
        return 0
    }
    // Magic always right (the interesting paths are behind it); header CRC fixed up.
    store(RecordCodec.magic, in: &bytes, at: 0)
    store(CRC32C.checksum(bytes[0..<16]), in: &bytes, at: 16)
    if let header = try? RecordCodec.decodeHeader(bytes[...]), header.recordLength <= bytes.count {
        let length = header.recordLength
        store(CRC32C.checksum(bytes[0..<(length - 8)]), in: &bytes, at: length - 8)
        store(UInt32(length), in: &bytes, at: length - 4)
        if let record = try? RecordCodec.decode(bytes[0..<length]) {
            _ = try? record.original()
        }
        // Arrival records (kind 3) and every metadata layout, versions 1 to 4.
        if let valid = try? RecordCodec.validate(bytes[0..<length]) {
            _ = try? RecordCodec.decodeContents(bytes[0..<length], header: valid)
        }
    }
    _ = try? RecordCodec.decode(bytes[...])
    return 0
}

private func store(_ value: UInt32, in bytes: inout [UInt8], at offset: Int) {
    for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
}
