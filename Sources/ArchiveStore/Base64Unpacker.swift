/// Restores an original message from its packed body (`Base64Packer`, docs/FORMAT.md,
/// "Packed body").
enum Base64Unpacker {
    /// Why a packed body cannot be unpacked: the record is corrupt.
    struct Malformed: Error, Equatable, CustomStringConvertible {
        var reason: String
        var description: String { "packed body: \(reason)" }
    }

    /// The most a packed body can exceed its original by: one token header at most per
    /// 32 KiB staged (`MessageDraft`), and a few bytes at the ends; base64 tokens always
    /// save more than their header. Readers size their zstd output with it.
    static func capacity(forOriginalSize size: Int) -> Int { size + size / 1024 + 64 }

    /// The original bytes; `originalSize` is the size the record's metadata claims, and
    /// any other size is an error.
    static func unpack(_ packed: UnsafeRawBufferPointer, originalSize: Int) throws(Malformed) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(originalSize)
        var position = 0
        func field<T: FixedWidthInteger>(_: T.Type) throws(Malformed) -> Int {
            let size = MemoryLayout<T>.size
            guard packed.count - position >= size else { throw Malformed(reason: "token header cut short at \(position)") }
            var value = 0
            for i in 0..<size { value |= Int(packed[position + i]) << (8 * i) }
            position += size
            return value
        }
        while position < packed.count {
            let tag = packed[position]
            position += 1
            let lineLength = tag == Base64Packer.Tag.base64.rawValue ? try field(UInt16.self) : 0
            let count = try field(UInt32.self)
            guard count > 0, count <= packed.count - position else {
                throw Malformed(reason: "token of \(count) bytes at \(position) in \(packed.count)")
            }
            let bytes = UnsafeRawBufferPointer(rebasing: packed[position..<(position + count)])
            switch Base64Packer.Tag(rawValue: tag) {
            case .literal:
                out.append(contentsOf: bytes)
            case .base64:
                guard lineLength % 4 == 0, lineLength >= 4, lineLength <= Base64Packer.maximumLineLength else {
                    throw Malformed(reason: "base64 line length \(lineLength)")
                }
                // 4 characters per 3 bytes, and CRLF per line: checked before writing.
                let encoded = (count + 2) / 3 * 4
                guard out.count + encoded + 2 * ((encoded + lineLength - 1) / lineLength) <= originalSize else {
                    throw Malformed(reason: "longer than the original's \(originalSize) bytes")
                }
                Base64Alphabet.encodeLines(bytes, lineLength: lineLength, into: &out)
            case nil:
                throw Malformed(reason: "unknown token \(tag) at \(position - 1)")
            }
            guard out.count <= originalSize else { throw Malformed(reason: "longer than the original's \(originalSize) bytes") }
            position += count
        }
        guard out.count == originalSize else {
            throw Malformed(reason: "unpacked \(out.count) bytes, the original has \(originalSize)")
        }
        return out
    }
}
