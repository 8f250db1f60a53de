#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes in a declared charset as a Swift string. Never fails: a charset iconv does not
/// know decodes as lossy UTF-8, bytes not valid in a known charset each become U+FFFD
/// (the rest is kept); undeclared text (no charset, or US-ASCII with 8-bit bytes, which
/// mailers send unlabelled) is UTF-8 when valid, else Windows-1252.
public enum CharsetText {
    public static func decode(_ bytes: [UInt8], charset: String?) -> String {
        let name = charset.map(normalized) ?? ""
        switch name {
        case "", "us-ascii", "ascii", "ansi_x3.4-1968", "us":
            return validUTF8(bytes) ?? windows1252(bytes)
        case "utf-8", "utf8":
            return String(decoding: bytes, as: UTF8.self)
        default:
            return converted(bytes, from: ianaName(name)) ?? String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Names mail uses that glibc's iconv does not know, or knows by a narrower set than
    /// mailers actually write under that label (GBK text labelled GB2312).
    static let aliases: [String: String] = [
        "gb2312": "GB18030", "gbk": "GB18030", "x-gbk": "GB18030", "euc-cn": "GB18030",
        "ks_c_5601-1987": "CP949", "ks_c_5601": "CP949", "x-sjis": "SHIFT_JIS", "shift-jis": "SHIFT_JIS",
        "x-mac-roman": "MACINTOSH", "unicode-1-1-utf-7": "UTF-7", "utf-7": "UTF-7",
        "iso-2022-jp": "ISO-2022-JP-2",
    ]

    /// The name iconv knows a mail charset label by.
    static func ianaName(_ charset: String) -> String {
        let name = normalized(charset)
        return aliases[name] ?? name
    }

    static func normalized(_ charset: String) -> String {
        var s = Substring(charset)
        while let c = s.first, c == " " || c == "\t" || c == "\"" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\"" { s = s.dropLast() }
        return s.lowercased()
    }

    public static func validUTF8(_ bytes: [UInt8]) -> String? {
        String(validating: bytes, as: UTF8.self)
    }

    /// Latin-1 with Windows' printable characters in 0x80…0x9F; the five bytes Windows
    /// leaves undefined map to the C1 controls, so nothing is lost.
    public static func windows1252(_ bytes: [UInt8]) -> String {
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

    /// iconv from `charset` to UTF-8; nil when iconv does not know the charset. A byte
    /// that starts no valid sequence becomes U+FFFD and decoding goes on after it.
    static func converted(_ bytes: [UInt8], from charset: String) -> String? {
        guard !bytes.isEmpty else { return "" }
        guard charset.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        let descriptor = iconv_open("UTF-8", charset)
        guard let descriptor, descriptor != iconv_t(bitPattern: -1) else { return nil }
        defer { iconv_close(descriptor) }
        let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count * 2)
        var input = bytes
        var output = [UInt8](repeating: 0, count: 64 * 1024)
        input.withUnsafeMutableBytes { inBuffer in
            output.withUnsafeMutableBytes { outBuffer in
                guard let inBase = inBuffer.baseAddress, let outBase = outBuffer.baseAddress else { return }
                var inPointer: UnsafeMutablePointer<CChar>? = inBase.assumingMemoryBound(to: CChar.self)
                var inLeft = inBuffer.count
                var flushing = false
                while true {
                    var outPointer: UnsafeMutablePointer<CChar>? = outBase.assumingMemoryBound(to: CChar.self)
                    var outLeft = outBuffer.count
                    let status = flushing
                        ? iconv(descriptor, nil, nil, &outPointer, &outLeft)
                        : iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft)
                    result.append(contentsOf: UnsafeRawBufferPointer(start: outBase, count: outBuffer.count - outLeft))
                    // errno is not reliable across Swift code: a failure with the output
                    // nearly full is E2BIG (go on), any other is EILSEQ or EINVAL.
                    if status == -1 {  // (size_t)-1: size_t is Int in Swift
                        if outLeft < 16 { continue }
                        if flushing { return }
                        result.append(contentsOf: replacement)
                        guard inLeft > 0 else { flushing = true; continue }
                        inPointer = inPointer.map { $0 + 1 }
                        inLeft -= 1
                        if inLeft == 0 { flushing = true }
                        continue
                    }
                    if flushing { return }
                    flushing = true
                }
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}
