import NIOCore
import NIOTestUtils
import SMTPProtocol
import Testing

/// Decodes a whole DATA stream; returns the content, what follows the end, and the flags.
func decodeData(_ input: [UInt8], lineLimit: Int = 1000) -> (content: [UInt8], rest: [UInt8], ended: Bool, bare: Bool, long: Bool) {
    var decoder = DataDecoder(maximumLineLength: lineLimit)
    var buffer = ByteBuffer(bytes: input)
    var content: [UInt8] = []
    var ended = false
    while let frame = decoder.decode(&buffer) {
        switch frame {
        case .content(let chunk): content += chunk.readableBytesView
        case .end: ended = true
        }
    }
    return (content, Array(buffer.readableBytesView), ended, decoder.sawBareLineEnding, decoder.sawOverlongLine)
}

struct DataDecoderTests {
    static let cases: [(input: String, content: String, rest: String)] = [
        (".\r\n", "", ""),
        ("a\r\n.\r\n", "a\r\n", ""),
        ("a\r\n.\r\nQUIT\r\n", "a\r\n", "QUIT\r\n"),
        ("..a\r\n.b\r\n..\r\n.\r\n", ".a\r\nb\r\n.\r\n", ""),
        ("line\r\n.\r", "line\r\n", ".\r"),
        ("\r\n.\r\n", "\r\n", ""),
        ("a\r\n\r\n.\r\n", "a\r\n\r\n", ""),
    ]

    @Test(arguments: cases)
    func decodes(input: String, content: String, rest: String) {
        let result = decodeData(Array(input.utf8))
        #expect(String(decoding: result.content, as: UTF8.self) == content)
        #expect(String(decoding: result.rest, as: UTF8.self) == rest)
        #expect(!result.bare)
    }

    /// The smuggling sequences of the SMTP smuggling research (SEC Consult, 2023): none may
    /// end the message; what follows must stay content; only the real CRLF.CRLF ends it.
    static let smuggling: [String] = ["\n.\n", "\r.\r", "\r.\n", "\n.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r", "\r\n\u{0}.\r\n"]

    @Test(arguments: smuggling)
    func smugglingSequencesDoNotEndTheMessage(sequence: String) {
        let smuggled = "MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nforged\r\n"
        let input = "Subject: hi\r\n\r\nbody" + sequence + smuggled + ".\r\nQUIT\r\n"
        let result = decodeData(Array(input.utf8))
        #expect(result.ended)
        #expect(String(decoding: result.rest, as: UTF8.self) == "QUIT\r\n")
        let content = String(decoding: result.content, as: UTF8.self)
        #expect(content.hasPrefix("Subject: hi\r\n\r\nbody"))
        #expect(content.contains("MAIL FROM:<evil@attacker.example>"))
        #expect(content.hasSuffix("forged\r\n"))
        // Every sequence but the NUL one holds a bare CR or LF.
        #expect(result.bare == !sequence.contains("\u{0}"))
        // The output is canonical: no bare CR or LF survives.
        #expect(isCanonical(result.content))
    }

    /// The scan looks at eight bytes at a time: a line ending must be found at every
    /// offset in a word, after bytes that differ from CR or LF in a single bit or that have
    /// the high bit set.
    @Test(arguments: ["\r\n", "\n", "\r"])
    func lineEndingsAreFoundAtEveryOffsetOfAWord(ending: String) {
        let fillers: [UInt8] = [0x41, 0x0B, 0x0C, 0x0E, 0x09, 0x8A, 0x8D, 0x01, 0x00, 0xFF]
        for filler in fillers {
            for length in 1..<24 {
                let line = [UInt8](repeating: filler, count: length)
                let next = [UInt8](repeating: 0x42, count: 17)
                let result = decodeData(line + Array(ending.utf8) + next + Array("\r\n.\r\n".utf8))
                let expected = line + Array("\r\n".utf8) + next + Array("\r\n".utf8)
                #expect(result.content == expected && result.ended && result.bare == (ending != "\r\n"),
                        "filler \(filler), line of \(length)")
            }
        }
    }

    @Test func flagsOverlongLines() {
        #expect(decodeData(Array("12345\r\n.\r\n".utf8), lineLimit: 5).long == false)
        #expect(decodeData(Array("123456\r\n.\r\n".utf8), lineLimit: 5).long == true)
    }

    @Test func incompleteInputWaits() {
        let result = decodeData(Array("a\r\n.".utf8))
        #expect(!result.ended)
        #expect(result.rest == Array(".".utf8))
    }

    @Test func sameResultUnderEveryChunking() throws {
        let message = "From: a\r\n\r\n..stuffed\r\nbare\nline\r\n.\r\n"
        let whole = decodeData(Array(message.utf8))
        let pairs: [(ByteBuffer, [WholeMessageDecoder.InboundOut])] = [
            (ByteBuffer(string: message), [ByteBuffer(bytes: whole.content)]),
            (ByteBuffer(string: "x\r\n.\r\n.\r\n"), [ByteBuffer(string: "x\r\n"), ByteBuffer()]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { WholeMessageDecoder() }
    }
}

func isCanonical(_ bytes: [UInt8]) -> Bool {
    for (i, b) in bytes.enumerated() {
        if b == 0x0D && (i + 1 >= bytes.count || bytes[i + 1] != 0x0A) { return false }
        if b == 0x0A && (i == 0 || bytes[i - 1] != 0x0D) { return false }
    }
    return true
}

/// Collects one message's decoded content and emits it at the end of data, so that the
/// output does not depend on how the input was chunked.
struct WholeMessageDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    var decoder = DataDecoder(maximumLineLength: 1000)
    var content = ByteBuffer()

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = decoder.decode(&buffer) else { return .needMoreData }
        switch frame {
        case .content(var chunk):
            content.writeBuffer(&chunk)
        case .end:
            context.fireChannelRead(wrapInboundOut(content))
            content = ByteBuffer()
            decoder = DataDecoder(maximumLineLength: 1000)
        }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}
