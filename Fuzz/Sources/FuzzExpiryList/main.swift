import ArchiveStore
import DurableFiles
import Foundation

/// Any bytes as a segment's expiry list (`NNNNNNNN.expiry`, docs/FORMAT.md "Expiry"): a
/// file on disk that damage or an attacker may have changed. The target makes the magic and
/// the whole-file CRC right, so the decoder meets hostile counts, offsets, kinds, strings
/// and overlapping entries. It must throw, never crash or hang.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    _ = try? ExpiryManifest.decode(bytes)
    guard bytes.count >= 100 else { return 0 }
    bytes.replaceSubrange(0..<8, with: Array("ARSEGEXP".utf8))
    let crc = CRC32C.checksum(bytes[0..<(bytes.count - 4)])
    for i in 0..<4 { bytes[bytes.count - 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
    if let list = try? ExpiryManifest.decode(bytes) {
        _ = list.removedRanges
        // A list that decodes encodes to one that decodes to it again.
        precondition((try? ExpiryManifest.decode(list.encode())) == list, "an expiry list does not survive encode/decode")
    }
    return 0
}
