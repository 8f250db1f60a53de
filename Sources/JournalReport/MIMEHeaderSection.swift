import MessageText

/// One field of a MIME header section, unfolded; the name in lower case (field names are
/// case-insensitive, RFC 5322 section 1.2.2).
struct MIMEHeaderField: Sendable, Equatable {
    var name: String
    var value: String
}

enum MIMEHeaderSection {
    /// The fields of a header section (its lines with their line breaks, without the
    /// empty line that ends it), unfolded by MessageText's header reader.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> [MIMEHeaderField] {
        HeaderSection.fields(Array(bytes)).map { MIMEHeaderField(name: $0.name, value: String(decoding: $0.value, as: UTF8.self)) }
    }
}

extension [MIMEHeaderField] {
    /// The first field named `name` (lower case).
    func value(_ name: String) -> String? {
        first { $0.name == name }?.value
    }

    var contentType: MIMEContentType? { value("content-type").flatMap(MIMEContentType.init) }

    /// `Content-Transfer-Encoding` in lower case; nil when absent (7bit, RFC 2045 6.1).
    var transferEncoding: String? { value("content-transfer-encoding").map { $0.lowercased() } }
}

/// A `Content-Type` value: type and subtype in lower case, parameter names in lower case,
/// values unquoted (RFC 2045 section 5.1).
struct MIMEContentType: Sendable, Equatable {
    var type: String
    var subtype: String
    var parameters: [String: String]

    init?(_ value: String) {
        var pieces = Self.split(value)
        guard !pieces.isEmpty else { return nil }
        let media = pieces.removeFirst()
        guard let slash = media.firstIndex(of: "/") else { return nil }
        type = media[..<slash].trimmingWhite().lowercased()
        subtype = media[media.index(after: slash)...].trimmingWhite().lowercased()
        parameters = [:]
        for piece in pieces {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = piece[..<equals].trimmingWhite().lowercased()
            var raw = piece[piece.index(after: equals)...].trimmingWhite()
            if raw.hasPrefix("\""), raw.count >= 2 {
                raw.removeFirst()
                if raw.hasSuffix("\"") { raw.removeLast() }
                var unescaped = ""
                var escape = false
                for c in raw {
                    if escape { unescaped.append(c); escape = false } else if c == "\\" { escape = true } else { unescaped.append(c) }
                }
                raw = unescaped
            }
            if parameters[name] == nil { parameters[name] = raw }
        }
    }

    func `is`(_ type: String, _ subtype: String) -> Bool { self.type == type && self.subtype == subtype }

    /// Splits at semicolons outside quoted strings.
    private static func split(_ value: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var quoted = false, escape = false
        for c in value {
            if escape { current.append(c); escape = false; continue }
            if quoted && c == "\\" { current.append(c); escape = true; continue }
            if c == "\"" { quoted.toggle() }
            if c == ";" && !quoted { pieces.append(current); current = ""; continue }
            current.append(c)
        }
        pieces.append(current)
        return pieces
    }
}

extension StringProtocol {
    func trimmingWhite() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
