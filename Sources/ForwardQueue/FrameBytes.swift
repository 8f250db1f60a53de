/// Little-endian field helpers for the queue journal (docs/FORMAT.md, "Forward queue").
struct FrameWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { integer(v) }
    mutating func u32(_ v: UInt32) { integer(v) }
    mutating func u64(_ v: UInt64) { integer(v) }
    mutating func i64(_ v: Int64) { integer(v) }

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// u32 length, then the bytes.
    mutating func blob(_ value: [UInt8]) {
        u32(UInt32(truncatingIfNeeded: value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ value: String) { blob(Array(value.utf8)) }
}

/// Why frame bytes could not be read; never a trap on short or garbage input.
struct FrameDecodingError: Error, Equatable, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

struct FrameReader {
    private let bytes: ArraySlice<UInt8>
    private var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    var isAtEnd: Bool { position >= bytes.endIndex }
    var remaining: Int { bytes.endIndex - position }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(FrameDecodingError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw FrameDecodingError(reason: "field runs past the end of the frame") }
        var value: T = 0
        for i in 0..<size { value |= T(bytes[position + i]) << (8 * i) }
        position += size
        return value
    }

    mutating func blob() throws(FrameDecodingError) -> [UInt8] {
        let count = Int(try integer(UInt32.self))
        guard remaining >= count else { throw FrameDecodingError(reason: "field of \(count) bytes runs past the end of the frame") }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    mutating func string() throws(FrameDecodingError) -> String {
        let raw = try blob()
        guard let text = String(validating: raw, as: UTF8.self) else { throw FrameDecodingError(reason: "invalid UTF-8") }
        return text
    }
}
