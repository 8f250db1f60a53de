/// Little-endian encoding helpers for the on-disk structures. Every multi-byte integer in
/// the archive and the queue journal is little-endian (docs/FORMAT.md).
extension Array where Element == UInt8 {
    package mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// A length-prefixed (u32) byte string.
    package mutating func appendBlob(_ bytes: [UInt8]) {
        appendLE(UInt32(bytes.count))
        append(contentsOf: bytes)
    }

    /// A length-prefixed (u32) UTF-8 string.
    package mutating func appendString(_ string: String) {
        appendLE(UInt32(string.utf8.count))
        append(contentsOf: string.utf8)
    }

    package mutating func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        Swift.withUnsafeBytes(of: value.littleEndian) { raw in
            for (i, byte) in raw.enumerated() { self[offset + i] = byte }
        }
    }

    /// Zero bytes up to the next multiple of `alignment`.
    package mutating func padTo(alignment: Int) {
        let remainder = count % alignment
        if remainder != 0 { append(contentsOf: repeatElement(0, count: alignment - remainder)) }
    }
}

/// What a format's decoder throws when a `ByteReader` runs short or meets bad UTF-8: each
/// format keeps its own error type (the archive's `RecordCodecError`, the journal's
/// `FrameDecodingError`), and with it the cases and texts its reports show.
package protocol ByteReadFailure: Error {
    /// A field of `byteCount` bytes runs past the end of the input.
    static func truncated(byteCount: Int) -> Self
    static var invalidUTF8: Self { get }
}

/// Reads little-endian fields from a byte slice, failing (never trapping) on short input.
package struct ByteReader<Failure: ByteReadFailure> {
    private let bytes: ArraySlice<UInt8>
    package private(set) var position: Int

    package init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    package var remaining: Int { bytes.endIndex - position }
    package var isAtEnd: Bool { position >= bytes.endIndex }

    package mutating func read<T: FixedWidthInteger>(_: T.Type) throws(Failure) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncated(byteCount: size) }
        var value: T = 0
        for i in 0..<size {
            value |= T(bytes[position + i]) << (8 * i)
        }
        position += size
        return value
    }

    package mutating func readBytes(_ count: Int) throws(Failure) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw .truncated(byteCount: count) }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// A length-prefixed (u32) byte string, as `appendBlob` writes it.
    package mutating func readBlob() throws(Failure) -> [UInt8] {
        try readBytes(Int(try read(UInt32.self)))
    }

    /// A length-prefixed (u32) UTF-8 string, as `appendString` writes it.
    package mutating func readString() throws(Failure) -> String {
        let raw = try readBlob()
        guard let string = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8 }
        return string
    }
}

/// Lowercase hexadecimal: SHA-256 digests in the index, CLI and logs, and the `sha256`
/// and `mac` of a loop trace.
package enum Hex {
    package static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil unless `text` is an even number of hex digits (either case).
    package static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
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

    /// The value of one hex digit (either case), nil for anything else.
    package static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
