/// A Content-Type or Content-Disposition value: its leading token (the media type or the
/// disposition, lower case) and its parameters, with quoted strings, comments and RFC 2231
/// extended parameters (`name*=charset'lang'pct`, continuations `name*0*=`, mixed with
/// plain sections) undone. Lenient: an unquoted value runs to the next ";".
struct MIMEParameters: Sendable, Equatable {
    var value: String
    var parameters: [String: String]

    init(_ raw: [UInt8]) {
        var scanner = Scanner(raw)
        value = String(decoding: scanner.token(until: [UInt8(ascii: ";")]), as: UTF8.self).lowercased()
        var plain: [String: [UInt8]] = [:]
        var sections: [String: [Int: Section]] = [:]
        while scanner.skip(UInt8(ascii: ";")) {
            let name = String(decoding: scanner.token(until: [UInt8(ascii: ";"), UInt8(ascii: "=")]), as: UTF8.self).lowercased()
            guard scanner.skip(UInt8(ascii: "=")) else { continue }
            let bytes = scanner.parameterValue()
            guard !name.isEmpty else { continue }
            var base = Substring(name)
            var extended = false
            if base.hasSuffix("*") { extended = true; base = base.dropLast() }
            var number: Int?
            if let star = base.lastIndex(of: "*"), let n = Int(base[base.index(after: star)...]), n >= 0, n < 10_000 {
                number = n
                base = base[..<star]
            }
            if number == nil && !extended {
                if plain[String(base)] == nil { plain[String(base)] = bytes }
            } else {
                let key = number ?? 0
                if sections[String(base), default: [:]][key] == nil {
                    sections[String(base), default: [:]][key] = Section(bytes: bytes, extended: extended)
                }
            }
        }
        var result: [String: String] = [:]
        for (name, bytes) in plain { result[name] = EncodedWords.rawText(bytes) }
        for (name, parts) in sections { result[name] = Self.joined(parts) }
        parameters = result
    }

    struct Section: Equatable {
        var bytes: [UInt8]
        var extended: Bool
    }

    /// RFC 2231 sections 3 and 4: sections in order while consecutive from 0; an
    /// extended section is percent-decoded, the first one's `charset'language'` prefix
    /// names the charset of all of them.
    static func joined(_ parts: [Int: Section]) -> String {
        var charset: String?
        var bytes: [UInt8] = []
        var n = 0
        while let section = parts[n] {
            var body = section.bytes[...]
            if section.extended {
                if n == 0, let q1 = body.firstIndex(of: UInt8(ascii: "'")),
                   let q2 = body[(q1 + 1)...].firstIndex(of: UInt8(ascii: "'")) {
                    charset = String(decoding: body[..<q1], as: UTF8.self)
                    body = body[(q2 + 1)...]
                }
                bytes += percentDecoded(body)
            } else {
                bytes += body
            }
            n += 1
        }
        if let charset, !charset.isEmpty { return CharsetText.decode(bytes, charset: charset) }
        return EncodedWords.rawText(bytes)
    }

    static func percentDecoded(_ s: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == UInt8(ascii: "%"), i + 2 < s.endIndex, let h = hexDigitValue(s[i + 1]), let l = hexDigitValue(s[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// Reads structured field text: white space and (nested) comments are skipped
    /// between tokens.
    struct Scanner {
        let bytes: [UInt8]
        var i = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipCFWS() {
            while i < bytes.count {
                if HeaderSection.isWhite(bytes[i]) { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "(") else { return }
                var depth = 0
                while i < bytes.count {
                    switch bytes[i] {
                    case UInt8(ascii: "("): depth += 1
                    case UInt8(ascii: ")"): depth -= 1
                    case Byte.backslash: i += 1
                    default: break
                    }
                    i += 1
                    if depth == 0 { break }
                }
            }
        }

        mutating func skip(_ b: UInt8) -> Bool {
            skipCFWS()
            guard i < bytes.count, bytes[i] == b else { return false }
            i += 1
            return true
        }

        /// Bytes up to one of `stops`, outer white space trimmed; comments dropped unless
        /// `keepingComments` (an unquoted file name may hold parentheses).
        mutating func token(until stops: [UInt8], keepingComments: Bool = false) -> [UInt8] {
            skipCFWS()
            var out: [UInt8] = []
            while i < bytes.count, !stops.contains(bytes[i]) {
                if bytes[i] == UInt8(ascii: "("), !keepingComments { skipCFWS(); continue }
                out.append(bytes[i])
                i += 1
            }
            return HeaderSection.trimmed(out[...])
        }

        /// A quoted string (backslash escapes undone) or the bytes to the next ";".
        mutating func parameterValue() -> [UInt8] {
            skipCFWS()
            guard i < bytes.count, bytes[i] == Byte.quote else { return token(until: [UInt8(ascii: ";")], keepingComments: true) }
            i += 1
            var out: [UInt8] = []
            while i < bytes.count, bytes[i] != Byte.quote {
                if bytes[i] == Byte.backslash, i + 1 < bytes.count { i += 1 }
                out.append(bytes[i])
                i += 1
            }
            i += 1
            // Text after the closing quote up to ";" is malformed; skipped.
            _ = token(until: [UInt8(ascii: ";")])
            return out
        }
    }
}
