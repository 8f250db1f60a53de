#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of a report's envelope part: its transfer encoding undone (RFC 2045 sections
/// 6.7 and 6.8), then its charset converted to UTF-8. Never fails: a charset iconv does
/// not know, or bytes that are not in it, give a lossy decode; undeclared 8-bit text
/// (Exchange writes the subject in the report's charset) is UTF-8 when valid, else
/// Windows-1252.
public enum EnvelopePartText {
    public static func decode(_ body: some Collection<UInt8>, transferEncoding: String?, charset: String?) -> String {
        let bytes: [UInt8]
        switch transferEncoding?.lowercased() {
        case "quoted-printable": bytes = quotedPrintableDecoded(Array(body))
        case "base64": bytes = base64Decoded(body)
        default: bytes = Array(body)
        }
        return text(bytes, charset: charset)
    }

    static func text(_ bytes: [UInt8], charset: String?) -> String {
        let name = charset?.trimmingWhite().lowercased() ?? ""
        switch name {
        case "", "us-ascii", "ascii":
            return validUTF8(bytes) ?? windows1252(bytes)
        case "utf-8", "utf8":
            return String(decoding: bytes, as: UTF8.self)
        default:
            return converted(bytes, from: name) ?? String(decoding: bytes, as: UTF8.self)
        }
    }

    static func validUTF8(_ bytes: [UInt8]) -> String? {
        String(validating: bytes, as: UTF8.self)
    }

    /// Latin-1 with Windows' printable characters in 0x80…0x9F; the five bytes Windows
    /// leaves undefined map to the C1 controls, so nothing is lost.
    static func windows1252(_ bytes: [UInt8]) -> String {
        var scalars = String.UnicodeScalarView()
        for b in bytes {
            if b >= 0x80 && b < 0xA0, let s = Unicode.Scalar(windows1252High[Int(b - 0x80)]) {
                scalars.append(s)
            } else {
                scalars.append(Unicode.Scalar(b))
            }
        }
        return String(scalars)
    }

    private static let windows1252High: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ]

    /// iconv from `charset` to UTF-8; nil when iconv does not know the charset or the
    /// bytes are not valid in it.
    static func converted(_ bytes: [UInt8], from charset: String) -> String? {
        guard !bytes.isEmpty else { return "" }
        guard charset.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        let descriptor = iconv_open("UTF-8", charset)
        guard let descriptor, descriptor != iconv_t(bitPattern: -1) else { return nil }
        defer { iconv_close(descriptor) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: bytes.count * 4 + 16)
        let written: Int? = input.withUnsafeMutableBytes { inBuffer in
            output.withUnsafeMutableBytes { outBuffer in
                var inPointer = inBuffer.baseAddress?.assumingMemoryBound(to: CChar.self)
                var inLeft = inBuffer.count
                var outPointer = outBuffer.baseAddress?.assumingMemoryBound(to: CChar.self)
                var outLeft = outBuffer.count
                if iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft) == size_t.max { return nil }
                if iconv(descriptor, nil, nil, &outPointer, &outLeft) == size_t.max { return nil }
                return outBuffer.count - outLeft
            }
        }
        guard let written else { return nil }
        return validUTF8(Array(output[..<written]))
    }

    static func quotedPrintableDecoded(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b == ASCII.equals else { out.append(b); i += 1; continue }
            // A soft line break: "=" then optional white space, then CRLF or LF.
            var j = i + 1
            while j < bytes.count, bytes[j] == ASCII.space || bytes[j] == ASCII.tab { j += 1 }
            if j < bytes.count, bytes[j] == ASCII.lf { i = j + 1; continue }
            if j + 1 < bytes.count, bytes[j] == ASCII.cr, bytes[j + 1] == ASCII.lf { i = j + 2; continue }
            if j == bytes.count { i = j; continue }
            if i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(b)  // not an escape: kept as written (RFC 2045 6.7, note 1)
                i += 1
            }
        }
        return out
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    /// Lenient base64: characters outside the alphabet are skipped, decoding stops at "=".
    static func base64Decoded(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var quantum: UInt32 = 0
        var count = 0
        for b in bytes {
            if b == ASCII.equals { break }
            let v = Base64Alphabet.value[Int(b)]
            guard v != Base64Alphabet.invalid else { continue }
            quantum = quantum << 6 | UInt32(v)
            count += 1
            if count == 4 {
                out.append(UInt8(quantum >> 16 & 0xFF)); out.append(UInt8(quantum >> 8 & 0xFF)); out.append(UInt8(quantum & 0xFF))
                quantum = 0
                count = 0
            }
        }
        if count == 2 { out.append(UInt8(quantum >> 4 & 0xFF)) }
        if count == 3 { out.append(UInt8(quantum >> 10 & 0xFF)); out.append(UInt8(quantum >> 2 & 0xFF)) }
        return out
    }
}

/// RFC 4648 section 4: each byte's 6-bit value, `invalid` outside the alphabet.
enum Base64Alphabet {
    static let invalid: UInt8 = 0xFF
    static let value: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()
}
