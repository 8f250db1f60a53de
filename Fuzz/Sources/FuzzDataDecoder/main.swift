import NIOCore
import SMTPProtocol

/// DATA content split at a fuzzed point: decoding must not crash, must give the same content
/// whatever the split, must end only after CRLF "." CRLF, and must write canonical CRLF only.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let first = bytes.first else { return 0 }
    let body = Array(bytes.dropFirst())
    let split = body.isEmpty ? 0 : Int(first) % (body.count + 1)
    let whole = decode([body])
    let chunked = decode([Array(body[..<split]), Array(body[split...])])
    precondition(whole.content == chunked.content && whole.ended == chunked.ended, "chunking changed the result")
    if whole.ended {
        precondition(whole.consumed >= 3, "ended without a terminator")
        let end = Array(body[(whole.consumed - 3)..<whole.consumed])
        precondition(end == Array(".\r\n".utf8), "ended on something other than .CRLF")
    }
    for (i, b) in whole.content.enumerated() {
        if b == 0x0D { precondition(i + 1 < whole.content.count && whole.content[i + 1] == 0x0A, "bare CR in output") }
        if b == 0x0A { precondition(i > 0 && whole.content[i - 1] == 0x0D, "bare LF in output") }
    }
    // What the stuffer writes, the decoder reads back.
    var stuffer = DotStuffer()
    var wire = ByteBuffer()
    stuffer.encode(ByteBuffer(bytes: whole.content), into: &wire)
    stuffer.finish(into: &wire)
    let again = decode([Array(wire.readableBytesView)])
    precondition(again.ended && again.content == whole.content + (whole.content.last == 0x0A || whole.content.isEmpty ? [] : [0x0D, 0x0A]), "stuffing round trip failed")
    return 0
}

func decode(_ chunks: [[UInt8]]) -> (content: [UInt8], ended: Bool, consumed: Int) {
    var decoder = DataDecoder(maximumLineLength: 1000)
    var buffer = ByteBuffer()
    var content: [UInt8] = []
    var consumed = 0
    for chunk in chunks {
        buffer.writeBytes(chunk)
        let before = buffer.readableBytes
        while let frame = decoder.decode(&buffer) {
            if case .content(let c) = frame { content += c.readableBytesView }
        }
        consumed += before - buffer.readableBytes
        if decoder.isFinished { return (content, true, consumed) }
    }
    return (content, false, consumed)
}
