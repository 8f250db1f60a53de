import NIOCore
import SMTPProtocol
import TestRandom
import Testing

struct DotStufferTests {
    func stuff(_ chunks: [[UInt8]]) -> [UInt8] {
        var stuffer = DotStuffer()
        var out = ByteBuffer()
        for chunk in chunks { stuffer.encode(ByteBuffer(bytes: chunk), into: &out) }
        stuffer.finish(into: &out)
        return Array(out.readableBytesView)
    }

    static let cases: [(String, String)] = [
        ("", ".\r\n"),
        ("a", "a\r\n.\r\n"),
        ("a\r\n", "a\r\n.\r\n"),
        (".", "..\r\n.\r\n"),
        (".\r\n", "..\r\n.\r\n"),
        ("a\r\n.b\r\n..c\r\n", "a\r\n..b\r\n...c\r\n.\r\n"),
        ("bare\nlf\rcr\r\n", "bare\r\nlf\r\ncr\r\n.\r\n"),
        ("x\n.\ny", "x\r\n..\r\ny\r\n.\r\n"),
    ]

    @Test(arguments: cases)
    func stuffsAndTerminates(input: String, wire: String) {
        #expect(String(decoding: stuff([Array(input.utf8)]), as: UTF8.self) == wire)
    }

    @Test(arguments: cases)
    func chunkBoundariesDoNotMatter(input: String, wire: String) {
        let bytes = Array(input.utf8)
        for split in 0...bytes.count {
            let out = stuff([Array(bytes[..<split]), Array(bytes[split...])])
            #expect(String(decoding: out, as: UTF8.self) == wire, "split at \(split)")
        }
    }

    /// Stuffing then decoding gives back the content with canonical line endings.
    @Test(arguments: ["", "a\r\n", ".\r\n..\r\n.x\r\n", "Subject: t\r\n\r\n\u{0}\u{1}\u{ff}\r\n", String(repeating: "long ", count: 5000) + "\r\n"])
    func roundTripsThroughTheDecoder(content: String) {
        let wire = stuff([Array(content.utf8)])
        let decoded = decodeData(wire, lineLimit: 100_000)
        #expect(decoded.ended)
        #expect(decoded.rest.isEmpty)
        #expect(decoded.content == Array(content.utf8))
    }

    /// The rule written the slow way: split into lines at CRLF, bare CR or bare LF, double a
    /// leading dot, end every line with CRLF, then "." CRLF.
    static func reference(_ input: [UInt8]) -> [UInt8] {
        var lines: [[UInt8]] = [[]]
        var index = 0
        var endedWithBreak = false
        while index < input.count {
            let byte = input[index]
            if byte == 13 || byte == 10 {
                index += byte == 13 && index + 1 < input.count && input[index + 1] == 10 ? 2 : 1
                lines.append([])
                endedWithBreak = true
            } else {
                lines[lines.count - 1].append(byte)
                endedWithBreak = false
                index += 1
            }
        }
        if endedWithBreak || input.isEmpty { lines.removeLast() }
        var wire: [UInt8] = []
        for line in lines {
            if line.first == UInt8(ascii: ".") { wire.append(UInt8(ascii: ".")) }
            wire += line + [13, 10]
        }
        return wire + Array(".\r\n".utf8)
    }

    /// Random content over the bytes that matter, cut into random chunks, against the
    /// reference (a fixed seed, so a failure repeats).
    @Test func randomContentInRandomChunksMatchesTheReference() {
        var generator = SplitMix64(seed: 0x5EED_D07)
        let alphabet: [UInt8] = Array("a.\r\n".utf8) + [0, 0xFF]
        for round in 0..<2_000 {
            let length = Int(generator.next() % 40)
            let input = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            var chunks: [[UInt8]] = []
            var start = 0
            while start < input.count {
                let end = min(input.count, start + 1 + Int(generator.next() % 6))
                chunks.append(Array(input[start..<end]))
                start = end
            }
            let expected = Self.reference(input)
            #expect(stuff(chunks) == expected, "round \(round): \(input) in \(chunks.map(\.count))")
            if stuff(chunks) != expected { return }
        }
    }
}
