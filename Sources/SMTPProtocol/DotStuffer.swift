import NIOCore

/// Encodes message content for DATA (RFC 5321 §4.5.2): every line ends in CRLF, a line that
/// begins with "." gets one more, and the content ends with CRLF "." CRLF.
///
/// Bare CR and bare LF in the input are written as CRLF, so what goes on the wire is always
/// canonical and cannot be read as an early end of data by any receiver (SMTP smuggling).
/// Works on chunks as they come, holding back nothing but one pending CR.
public struct DotStuffer: Sendable {
    private var atLineStart = true
    private var pendingCR = false

    public init() {}

    /// Appends the encoded form of `chunk` to `output`.
    public mutating func encode(_ chunk: ByteBuffer, into output: inout ByteBuffer) {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), dot = UInt8(ascii: ".")
        output.reserveCapacity(minimumWritableBytes: chunk.readableBytes + 16)
        chunk.withUnsafeReadableBytes { bytes in
            var runStart = 0
            func flushRun(to end: Int) {
                if end > runStart {
                    output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<end]))
                }
            }
            for i in 0..<bytes.count {
                let byte = bytes[i]
                if pendingCR {
                    pendingCR = false
                    if byte == lf {
                        // CR LF: the CR was held back; write the pair now.
                        output.writeStaticString("\r\n")
                        atLineStart = true
                        runStart = i + 1
                        continue
                    }
                    output.writeStaticString("\r\n")  // bare CR becomes CRLF
                    atLineStart = true
                }
                if byte == cr {
                    flushRun(to: i)
                    pendingCR = true
                    runStart = i + 1
                } else if byte == lf {
                    flushRun(to: i)
                    output.writeStaticString("\r\n")  // bare LF becomes CRLF
                    atLineStart = true
                    runStart = i + 1
                } else {
                    if atLineStart && byte == dot {
                        flushRun(to: i)
                        output.writeInteger(dot)
                        runStart = i
                    }
                    atLineStart = false
                }
            }
            flushRun(to: bytes.count)
        }
    }

    /// Appends the end of the content: a CRLF if the last line lacks one, then "." CRLF.
    public mutating func finish(into output: inout ByteBuffer) {
        if pendingCR {
            pendingCR = false
            output.writeStaticString("\r\n")
            atLineStart = true
        }
        if !atLineStart { output.writeStaticString("\r\n") }
        output.writeStaticString(".\r\n")
        atLineStart = true
    }
}
