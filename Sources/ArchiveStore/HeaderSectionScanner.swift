/// Collects the header section of a message (everything before the first empty line) as
/// chunks arrive, then extracts the fields the index needs (RFC 5322 §2.2: unfolding;
/// §3.6.4 Message-ID; §3.6.5 Subject).
struct HeaderSectionScanner {
    private let limit: Int
    private var bytes: [UInt8] = []
    private var complete = false

    init(limit: Int) { self.limit = limit }

    mutating func feed(_ chunk: UnsafeRawBufferPointer) {
        guard !complete else { return }
        let room = limit - bytes.count
        // The blank line may straddle the previous chunk: look from 3 bytes back.
        let from = max(0, bytes.count - 3)
        bytes.append(contentsOf: chunk.prefix(room))
        if let end = Self.endOfHeaders(bytes, from: from) {
            bytes.removeSubrange(end...)
            complete = true
        } else if bytes.count >= limit {
            complete = true
        }
    }

    /// Offset of the blank line ending the header section (CRLF CRLF or LF LF).
    private static func endOfHeaders(_ b: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + 1 < b.count {
            if b[i] == 0x0A && b[i + 1] == 0x0A { return i }
            if i + 3 < b.count && b[i] == 0x0D && b[i + 1] == 0x0A && b[i + 2] == 0x0D && b[i + 3] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    /// The first Message-ID and Subject, unfolded (a continuation line joins with one
    /// space). Non-UTF-8 bytes in a value are replaced, which only affects the index,
    /// never the stored original.
    func fields() -> (messageID: String?, subject: String?) {
        let values = firstValues(of: ["message-id", "subject"])
        return (values[0], values[1])
    }

    /// The first value of each field named in `names` (lowercase), unfolded, in the order
    /// of `names`; nil for a field the section lacks. Works on octets, as RFC 5322 defines
    /// fields (the name ends at the first colon octet), and makes strings of the wanted
    /// fields only: building a string of every field was a third of the time to encode a
    /// 10 KB record (Benchmarks/RecordEncoding).
    func firstValues(of names: [StaticString]) -> [String?] {
        var values = [String?](repeating: nil, count: names.count)
        /// The field being unfolded, if it is a wanted one not seen before.
        var open: (slot: Int, value: String)?
        func close() {
            guard let field = open else { return }
            values[field.slot] = field.value
            open = nil
        }
        bytes.withUnsafeBufferPointer { text in
            var lineStart = 0
            while lineStart < text.count {
                var lineEnd = lineStart
                while lineEnd < text.count, text[lineEnd] != 0x0A { lineEnd += 1 }
                var end = lineEnd
                if end > lineStart, text[end - 1] == 0x0D { end -= 1 }
                let line = UnsafeBufferPointer(rebasing: text[lineStart..<end])
                lineStart = lineEnd + 1
                guard let first = line.first else { continue }
                if first == 0x20 || first == 0x09 {
                    if let field = open {
                        let continuation = String(decoding: line, as: UTF8.self).trimmingWhitespace()
                        open?.value = field.value.isEmpty ? continuation : field.value + " " + continuation
                    }
                    continue
                }
                guard let colon = line.firstIndex(of: 0x3A) else { continue }  // not a field: skipped, unfolding goes on
                close()
                var nameEnd = colon
                while nameEnd > 0, [0x20, 0x09, 0x0D].contains(line[nameEnd - 1]) { nameEnd -= 1 }
                let name = UnsafeBufferPointer(rebasing: line[..<nameEnd])
                guard let slot = names.indices.first(where: { values[$0] == nil && Self.equalsIgnoringASCIICase(name, names[$0]) }) else {
                    continue
                }
                let value = UnsafeBufferPointer(rebasing: line[(colon + 1)...])
                open = (slot, String(decoding: value, as: UTF8.self).trimmingWhitespace())
            }
        }
        close()
        return values
    }

    private static func equalsIgnoringASCIICase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        return zip(bytes, expected).allSatisfy { byte, wanted in
            (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) == wanted
        }
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
