import NIOCore
import SMTPProtocol
import Testing

struct CommandLineDecoderTests {
    func frames(_ input: String, limit: Int = 20) -> [CommandLineDecoder.Frame] {
        var decoder = CommandLineDecoder(maximumLineLength: limit)
        var buffer = ByteBuffer(string: input)
        var out: [CommandLineDecoder.Frame] = []
        while let frame = decoder.decode(&buffer) { out.append(frame) }
        return out
    }

    @Test func splitsPipelinedLines() {
        #expect(frames("EHLO a\r\nMAIL FROM:<>\r\nRCP") == [
            .line(ByteBuffer(string: "EHLO a"), bareLineFeed: false),
            .line(ByteBuffer(string: "MAIL FROM:<>"), bareLineFeed: false),
        ])
    }

    @Test func reportsBareLineFeed() {
        #expect(frames("NOOP\nQUIT\r\n") == [
            .line(ByteBuffer(string: "NOOP"), bareLineFeed: true),
            .line(ByteBuffer(string: "QUIT"), bareLineFeed: false),
        ])
    }

    @Test func dropsOverlongLinesWithoutBuffering() {
        var decoder = CommandLineDecoder(maximumLineLength: 10)
        var buffer = ByteBuffer(string: String(repeating: "x", count: 1000))
        #expect(decoder.decode(&buffer) == nil)
        #expect(buffer.readableBytes <= 1)
        buffer.writeString(String(repeating: "y", count: 1000))
        #expect(decoder.decode(&buffer) == nil)
        #expect(buffer.readableBytes <= 1)
        buffer.writeString("\r\nNOOP\r\n")
        #expect(decoder.decode(&buffer) == .lineTooLong)
        #expect(decoder.decode(&buffer) == .line(ByteBuffer(string: "NOOP"), bareLineFeed: false))
    }

    @Test func limitCountsContentOnly() {
        #expect(frames("0123456789\r\n", limit: 10) == [.line(ByteBuffer(string: "0123456789"), bareLineFeed: false)])
        #expect(frames("01234567890\r\n", limit: 10) == [.lineTooLong])
    }
}
