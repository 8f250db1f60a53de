/// One field of a header section, unfolded: the name in lower case (field names are
/// case-insensitive, RFC 5322 section 1.2.2), the value's raw bytes with the line breaks
/// of its folding removed and its outer white space trimmed.
public struct HeaderField: Sendable, Equatable {
    public var name: String
    public var value: [UInt8]
}

/// The fields of a header section, shared with JournalReport.
public enum HeaderSection {
    /// The fields of a header section (its lines with their line breaks). A line starting
    /// with white space continues the field before it (RFC 5322 section 2.2.3); a line
    /// with no colon is skipped.
    public static func fields(_ bytes: [UInt8]) -> [HeaderField] {
        var fields: [HeaderField] = []
        var name: [UInt8]?
        var value: [UInt8] = []
        func flush() {
            if let n = name {
                fields.append(HeaderField(name: String(decoding: n, as: UTF8.self).lowercased(), value: trimmed(value[...])))
            }
            name = nil
            value.removeAll(keepingCapacity: true)
        }
        var start = 0
        while start < bytes.count {
            let lf = bytes[start...].firstIndex(of: Byte.lf)
            var end = lf ?? bytes.count
            if end > start, bytes[end - 1] == Byte.cr { end -= 1 }
            let line = bytes[start..<end]
            start = lf.map { $0 + 1 } ?? bytes.count
            guard let first = line.first else { continue }
            if first == Byte.space || first == Byte.tab {
                if name != nil { value.append(contentsOf: line) }
                continue
            }
            flush()
            guard let colon = line.firstIndex(of: Byte.colon) else { continue }
            name = Array(line[..<colon]).filter { $0 != Byte.space && $0 != Byte.tab }
            value.append(contentsOf: line[(colon + 1)...])
        }
        flush()
        return fields
    }

    /// Whether a line can belong to a header section: a field (printable name, then a
    /// colon), a continuation, or an mbox "From " line; anything else starts the body
    /// (as Python's feedparser and most mail readers take it).
    static func isHeaderLine(_ line: ArraySlice<UInt8>) -> Bool {
        guard let first = line.first else { return false }
        if first == Byte.space || first == Byte.tab { return true }
        if line.starts(with: "From ".utf8) { return true }
        for b in line {
            if b == Byte.colon { return true }
            if b < 0x21 || b > 0x7E { return false }
        }
        return false
    }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var lower = bytes.startIndex, upper = bytes.endIndex
        while lower < upper, isWhite(bytes[lower]) { lower += 1 }
        while upper > lower, isWhite(bytes[upper - 1]) { upper -= 1 }
        return Array(bytes[lower..<upper])
    }

    static func isWhite(_ b: UInt8) -> Bool { b == Byte.space || b == Byte.tab || b == Byte.cr || b == Byte.lf }
}

extension [HeaderField] {
    func values(_ name: String) -> [[UInt8]] { filter { $0.name == name }.map(\.value) }
    func first(_ name: String) -> [UInt8]? { first { $0.name == name }?.value }
}

/// The bytes MIME's syntax is made of (JournalReport's parsers share them).
public enum Byte {
    public static let cr = UInt8(ascii: "\r")
    public static let lf = UInt8(ascii: "\n")
    public static let dash = UInt8(ascii: "-")
    public static let space = UInt8(ascii: " ")
    public static let tab = UInt8(ascii: "\t")
    public static let colon = UInt8(ascii: ":")
    public static let equals = UInt8(ascii: "=")
    public static let quote = UInt8(ascii: "\"")
    public static let backslash = UInt8(ascii: "\\")
}
