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
        bytes.append(contentsOf: chunk.prefix(room))
        if let end = Self.endOfHeaders(bytes) {
            bytes.removeSubrange(end...)
            complete = true
        } else if bytes.count >= limit {
            complete = true
        }
    }

    /// Offset of the blank line ending the header section (CRLF CRLF or LF LF).
    private static func endOfHeaders(_ b: [UInt8]) -> Int? {
        var i = 0
        while i + 1 < b.count {
            if b[i] == 0x0A && b[i + 1] == 0x0A { return i }
            if i + 3 < b.count && b[i] == 0x0D && b[i + 1] == 0x0A && b[i + 2] == 0x0D && b[i + 3] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    func fields() -> (messageID: String?, subject: String?) {
        var messageID: String?
        var subject: String?
        for (name, value) in Self.unfold(bytes) {
            switch name.lowercased() {
            case "message-id" where messageID == nil: messageID = value
            case "subject" where subject == nil: subject = value
            default: break
            }
        }
        return (messageID, subject)
    }

    /// Splits into (name, unfolded value) pairs; non-UTF-8 bytes are replaced, which only
    /// affects the index, never the stored original.
    static func unfold(_ bytes: [UInt8]) -> [(String, String)] {
        let text = String(decoding: bytes, as: UTF8.self)
        var result: [(String, String)] = []
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if let first = line.first, first == " " || first == "\t" {
                if let last = result.popLast() {
                    let continuation = line.trimmingWhitespace()
                    result.append((last.0, last.1.isEmpty ? continuation : last.1 + " " + continuation))
                }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon]).trimmingWhitespace()
            let value = String(line[line.index(after: colon)...]).trimmingWhitespace()
            result.append((name, value))
        }
        return result
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
