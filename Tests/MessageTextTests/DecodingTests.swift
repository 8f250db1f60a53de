@testable import MessageText
import TestRandom
import Testing

/// Transfer encodings and charsets, and their independence from how the bytes are split.
@Suite struct DecodingTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var encoding: String
        var input: String
        var output: [UInt8]
        var testDescription: String { "\(encoding): \(input.debugDescription)" }
    }

    static let rows: [Row] = [
        Row(encoding: "quoted-printable", input: "caf=C3=A9", output: Array("café".utf8)),
        Row(encoding: "quoted-printable", input: "soft=\r\nbreak", output: Array("softbreak".utf8)),
        Row(encoding: "quoted-printable", input: "soft= \t\nbreak", output: Array("softbreak".utf8)),
        Row(encoding: "quoted-printable", input: "end=", output: Array("end".utf8)),
        Row(encoding: "quoted-printable", input: "end=  ", output: Array("end".utf8)),
        Row(encoding: "quoted-printable", input: "a=zz=4", output: Array("a=zz=4".utf8)),
        Row(encoding: "quoted-printable", input: "==41", output: Array("=A".utf8)),
        Row(encoding: "quoted-printable", input: "= x", output: Array("= x".utf8)),
        Row(encoding: "quoted-printable", input: "=\rx", output: Array("=\rx".utf8)),
        Row(encoding: "quoted-printable", input: "a=3db", output: Array("a=b".utf8)),
        Row(encoding: "base64", input: "aGVsbG8gd29ybGQ=", output: Array("hello world".utf8)),
        Row(encoding: "base64", input: "aGVs\r\nbG8g\r\nd29y bGQ", output: Array("hello world".utf8)),
        Row(encoding: "base64", input: "aGk=aGk=", output: Array("hihi".utf8)),
        Row(encoding: "base64", input: "!!aG*Vs#bG8", output: Array("hello".utf8)),
        Row(encoding: "8bit", input: "as is=41", output: Array("as is=41".utf8)),
        Row(encoding: "x-unknown", input: "as is", output: Array("as is".utf8)),
    ]

    @Test(arguments: rows)
    func transferDecoding(row: Row) {
        #expect(TransferDecoding.decode(Array(row.input.utf8), transferEncoding: row.encoding) == row.output)
    }

    @Test func transferDecodingIgnoresSplits() {
        var random = SplitMix64(seed: 25)
        let alphabet = Array("=0A9fz \t\r\nQUJD+/_".utf8)
        for _ in 0..<2000 {
            let input = (0..<Int.random(in: 0...40, using: &random)).map { _ in alphabet.randomElement(using: &random) ?? 0 }
            for encoding in ["quoted-printable", "base64"] {
                let whole = TransferDecoding.decode(input, transferEncoding: encoding)
                var decoder = TransferDecoder(transferEncoding: encoding)
                var out: [UInt8] = []
                var i = 0
                while i < input.count {
                    let n = Int.random(in: 1...4, using: &random)
                    decoder.feed(input[i..<min(i + n, input.count)], into: &out)
                    i += n
                }
                decoder.finish(into: &out)
                #expect(out == whole, "\(encoding) \(input)")
            }
        }
    }

    struct CharsetRow: CustomTestStringConvertible, Sendable {
        var charset: String?
        var bytes: [UInt8]
        var text: String
        var testDescription: String { charset ?? "none" }
    }

    static let charsetRows: [CharsetRow] = [
        CharsetRow(charset: nil, bytes: Array("naïve".utf8), text: "naïve"),
        CharsetRow(charset: nil, bytes: [0x93, 0x71, 0x94, 0xE9], text: "“q”é"),
        CharsetRow(charset: "us-ascii", bytes: [0x63, 0x61, 0x66, 0xE9], text: "café"),
        CharsetRow(charset: "ISO-8859-1", bytes: [0x63, 0x61, 0x66, 0xE9], text: "café"),
        CharsetRow(charset: "windows-1252", bytes: [0x80, 0x9C], text: "€œ"),
        CharsetRow(charset: "windows-1251", bytes: [0xCF, 0xF0, 0xE8], text: "При"),
        CharsetRow(charset: "koi8-r", bytes: [0xF0, 0xD2, 0xC9], text: "При"),
        CharsetRow(charset: "utf-16", bytes: [0xFF, 0xFE, 0x41, 0x00, 0xE9, 0x00], text: "Aé"),
        CharsetRow(charset: "iso-2022-jp", bytes: [0x1B, 0x24, 0x42, 0x46, 0x7C, 0x4B, 0x5C, 0x1B, 0x28, 0x42], text: "日本"),
        CharsetRow(charset: "shift_jis", bytes: [0x93, 0xFA, 0x96, 0x7B], text: "日本"),
        CharsetRow(charset: "euc-kr", bytes: [0xC7, 0xD1, 0xB1, 0xB9], text: "한국"),
        CharsetRow(charset: "big5", bytes: [0xA4, 0xA4, 0xA4, 0xE5], text: "中文"),
        CharsetRow(charset: "gb2312", bytes: [0xD6, 0xD0, 0xCE, 0xC4], text: "中文"),
        CharsetRow(charset: "gb18030", bytes: [0xD6, 0xD0, 0xCE, 0xC4], text: "中文"),
        CharsetRow(charset: "\"UTF-8\"", bytes: Array("é".utf8), text: "é"),
        CharsetRow(charset: "x-unknown", bytes: [0x6F, 0x6B, 0xFF], text: "ok\u{FFFD}"),
        CharsetRow(charset: "shift_jis", bytes: [0x61, 0x80, 0x62, 0x93, 0xFA], text: "a\u{FFFD}b日"),
        CharsetRow(charset: "shift_jis", bytes: [0x61, 0x93], text: "a\u{FFFD}"),
        CharsetRow(charset: "utf-8", bytes: [0x61, 0xC3], text: "a\u{FFFD}"),
    ]

    @Test(arguments: charsetRows)
    func charset(row: CharsetRow) {
        #expect(CharsetText.decode(row.bytes, charset: row.charset) == row.text)
    }
}
