/// RFC 4648 base64 (the standard alphabet, padded with `=`), as MIME uses it: decoding of
/// one line at a time for `Base64Packer`, encoding for `Base64Unpacker`. Decoding accepts
/// only canonical text, the text the encoder gives back for the decoded bytes, so a
/// decoded line always re-encodes to exactly the bytes received.
enum Base64Alphabet {
    static let characters: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let padding = UInt8(ascii: "=")

    /// Character -> 6-bit value; 0xFF for every byte outside the alphabet, `=` included.
    static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in characters.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()

    /// Decodes a line of whole groups without padding into `out`; nil (and `out`
    /// unspecified) if any character is outside the alphabet or the count is not a
    /// multiple of 4. Returns the number of bytes written (3 per group).
    static func decodeFull(_ chars: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Int? {
        guard chars.count % 4 == 0, chars.count / 4 * 3 <= out.count else { return nil }
        return values.withUnsafeBufferPointer { table -> Int? in
            out.withUnsafeMutableBufferPointer { dst -> Int? in
                var invalid: UInt8 = 0
                var o = 0
                var i = 0
                while i < chars.count {
                    let a = table[Int(chars[i])], b = table[Int(chars[i + 1])]
                    let c = table[Int(chars[i + 2])], d = table[Int(chars[i + 3])]
                    invalid |= a | b | c | d
                    // Text (the common case) stops at its first space or punctuation.
                    if invalid & 0x80 != 0 { return nil }
                    dst[o] = a << 2 | b >> 4
                    dst[o + 1] = b << 4 | c >> 2
                    dst[o + 2] = c << 6 | d
                    i += 4
                    o += 3
                }
                return o
            }
        }
    }

    /// Decodes the last line of a block: whole groups, the last of which may end in `=`
    /// or `==`, with the bits the padding leaves over zero (as every encoder writes them).
    static func decodeFinal(_ chars: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Int? {
        let count = chars.count
        guard count >= 4, count % 4 == 0 else { return nil }
        let padded = chars[count - 1] == padding ? (chars[count - 2] == padding ? 2 : 1) : 0
        guard padded > 0 else { return decodeFull(chars, into: &out) }
        guard let head = decodeFull(UnsafeRawBufferPointer(rebasing: chars[..<(count - 4)]), into: &out) else { return nil }
        let a = values[Int(chars[count - 4])], b = values[Int(chars[count - 3])]
        guard (a | b) & 0x80 == 0, head + 2 <= out.count else { return nil }
        out[head] = a << 2 | b >> 4
        if padded == 2 {
            guard b & 0x0F == 0 else { return nil }
            return head + 1
        }
        let c = values[Int(chars[count - 2])]
        guard c & 0x80 == 0, c & 0x03 == 0 else { return nil }
        out[head + 1] = b << 4 | c >> 2
        return head + 2
    }

    /// Appends `bytes` base64-encoded (padded), in lines of `lineLength` characters (a
    /// multiple of 4), each followed by CRLF.
    static func encodeLines(_ bytes: UnsafeRawBufferPointer, lineLength: Int, into out: inout [UInt8]) {
        let groupsPerLine = lineLength / 4
        let encodedCount = (bytes.count + 2) / 3 * 4
        let lines = (encodedCount + lineLength - 1) / lineLength
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: encodedCount + 2 * lines))
        characters.withUnsafeBufferPointer { alphabet in
            out.withUnsafeMutableBufferPointer { dst in
                var o = start
                var i = 0
                var groups = 0
                while i + 3 <= bytes.count {
                    let a = bytes[i], b = bytes[i + 1], c = bytes[i + 2]
                    dst[o] = alphabet[Int(a >> 2)]
                    dst[o + 1] = alphabet[Int((a & 0x03) << 4 | b >> 4)]
                    dst[o + 2] = alphabet[Int((b & 0x0F) << 2 | c >> 6)]
                    dst[o + 3] = alphabet[Int(c & 0x3F)]
                    o += 4
                    i += 3
                    groups += 1
                    if groups == groupsPerLine {
                        dst[o] = 0x0D
                        dst[o + 1] = 0x0A
                        o += 2
                        groups = 0
                    }
                }
                let rest = bytes.count - i
                if rest > 0 {
                    let a = bytes[i], b = rest == 2 ? bytes[i + 1] : 0
                    dst[o] = alphabet[Int(a >> 2)]
                    dst[o + 1] = alphabet[Int((a & 0x03) << 4 | b >> 4)]
                    dst[o + 2] = rest == 2 ? alphabet[Int((b & 0x0F) << 2)] : padding
                    dst[o + 3] = padding
                    o += 4
                    groups += 1
                }
                if groups > 0 {
                    dst[o] = 0x0D
                    dst[o + 1] = 0x0A
                }
            }
        }
    }
}
