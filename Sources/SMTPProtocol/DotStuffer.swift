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

    /// Appends the encoded form of `chunk` to `output`. Canonical lines are copied in
    /// runs (CRLF included); only a leading dot, a bare CR or LF, and a CR at the end of
    /// the chunk break a run.
    public mutating func encode(_ chunk: ByteBuffer, into output: inout ByteBuffer) {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), dot = UInt8(ascii: ".")
        output.reserveCapacity(minimumWritableBytes: chunk.readableBytes + chunk.readableBytes / 64 + 16)
        chunk.withUnsafeReadableBytes { bytes in
            let count = bytes.count
            var index = 0
            var runStart = 0
            func flushRun(to end: Int) {
                if end > runStart {
                    output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<end]))
                }
            }
            if pendingCR, count > 0 {
                // The CR that ended the last chunk: CRLF if this one starts with LF, else bare.
                pendingCR = false
                output.writeStaticString("\r\n")
                atLineStart = true
                if bytes[0] == lf { index = 1 }
                runStart = index
            }
            while index < count {
                if atLineStart {
                    atLineStart = false
                    if bytes[index] == dot {
                        flushRun(to: index)
                        output.writeInteger(dot)
                        runStart = index
                    }
                }
                while index < count && bytes[index] != cr && bytes[index] != lf { index += 1 }
                guard index < count else { break }
                if bytes[index] == lf {
                    flushRun(to: index)
                    output.writeStaticString("\r\n")  // bare LF becomes CRLF
                    index += 1
                    runStart = index
                } else if index + 1 == count {
                    flushRun(to: index)  // hold the CR back until the next chunk shows what follows
                    pendingCR = true
                    index += 1
                    runStart = index
                } else if bytes[index + 1] == lf {
                    index += 2  // CRLF: stays in the run
                } else {
                    flushRun(to: index)
                    output.writeStaticString("\r\n")  // bare CR becomes CRLF
                    index += 1
                    runStart = index
                }
                atLineStart = true
            }
            flushRun(to: count)
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
