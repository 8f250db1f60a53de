/// Little-endian encoding helpers for the on-disk structures. Every multi-byte integer in
/// the archive format is little-endian (docs/FORMAT.md).
extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// A length-prefixed (u32) UTF-8 string.
    mutating func appendString(_ string: String) {
        appendLE(UInt32(string.utf8.count))
        append(contentsOf: string.utf8)
    }

    mutating func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        Swift.withUnsafeBytes(of: value.littleEndian) { raw in
            for (i, byte) in raw.enumerated() { self[offset + i] = byte }
        }
    }

    /// Zero bytes up to the next multiple of `alignment`.
    mutating func padTo(alignment: Int) {
        let remainder = count % alignment
        if remainder != 0 { append(contentsOf: repeatElement(0, count: alignment - remainder)) }
    }
}

/// Reads little-endian fields from a byte slice, failing (never trapping) on short input.
struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    private(set) var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - position }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(RecordCodecError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncatedMetadata }
        var value: T = 0
        for i in 0..<size {
            value |= T(bytes[position + i]) << (8 * i)
        }
        position += size
        return value
    }

    mutating func readBytes(_ count: Int) throws(RecordCodecError) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw .truncatedMetadata }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    mutating func readString() throws(RecordCodecError) -> String {
        let length = Int(try read(UInt32.self))
        let raw = try readBytes(length)
        guard let string = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8 }
        return string
    }
}

/// Lowercase hexadecimal, used for SHA-256 digests in the index, CLI and logs.
enum Hex {
    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
