import NIOCore
import SMTPProtocol
import Testing

struct ReplyTests {
    static let encodings: [(SMTPReply, String)] = [
        (SMTPReply(220, nil, "mx ESMTP"), "220 mx ESMTP\r\n"),
        (SMTPReply(250, EnhancedStatusCode(2, 1, 0), "Ok"), "250 2.1.0 Ok\r\n"),
        (SMTPReply(250, nil, ["mx greets you", "PIPELINING", "SIZE 10"]), "250-mx greets you\r\n250-PIPELINING\r\n250 SIZE 10\r\n"),
        (SMTPReply(451, EnhancedStatusCode(4, 3, 0), ["a", "b"]), "451-4.3.0 a\r\n451 4.3.0 b\r\n"),
        (SMTPReply(550, EnhancedStatusCode(5, 7, 1), "evil\r\n250 ok"), "550 5.7.1 evil  250 ok\r\n"),
        (SMTPReply(554, EnhancedStatusCode(5, 7, 26), "multi-digit detail"), "554 5.7.26 multi-digit detail\r\n"),
        (SMTPReply(452, EnhancedStatusCode(4, 100, 999), "widest parts"), "452 4.100.999 widest parts\r\n"),
        (SMTPReply(250, EnhancedStatusCode(2, 0, 0), ""), "250 2.0.0\r\n"),
    ]

    @Test(arguments: encodings)
    func encodes(reply: SMTPReply, wire: String) {
        var buffer = ByteBuffer()
        reply.write(to: &buffer)
        #expect(String(buffer: buffer) == wire)
    }

    @Test(arguments: encodings.filter { !$0.0.lines.joined().utf8.contains(13) })
    func decodesWhatItEncodes(reply: SMTPReply, wire: String) throws {
        var decoder = ReplyDecoder()
        var buffer = ByteBuffer(string: wire)
        #expect(try decoder.decode(&buffer) == reply)
        #expect(buffer.readableBytes == 0)
    }

    @Test func decodesAcrossChunks() throws {
        var decoder = ReplyDecoder()
        var buffer = ByteBuffer(string: "250-2.0.0 first\r\n25")
        #expect(try decoder.decode(&buffer) == nil)
        buffer.writeString("0 2.0.0 last\r\n")
        #expect(try decoder.decode(&buffer) == SMTPReply(250, EnhancedStatusCode(2, 0, 0), ["first", "last"]))
    }

    @Test(arguments: ["hello\r\n", "25\r\n", "250-a\r\n251 b\r\n", "250_x\r\n", "999 x\r\n"])
    func refusesMalformedReplies(wire: String) {
        var decoder = ReplyDecoder()
        var buffer = ByteBuffer(string: wire)
        #expect(throws: ReplyDecoder.MalformedReply.self) { try decoder.decode(&buffer) }
    }
}
