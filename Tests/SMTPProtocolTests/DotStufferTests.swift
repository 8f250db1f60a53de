import NIOCore
import SMTPProtocol
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
}
