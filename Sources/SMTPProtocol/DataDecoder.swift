import NIOCore

/// Decodes the content of DATA (RFC 5321 §4.5.2): removes dot-stuffing and finds the end of
/// the message, which is exactly CRLF "." CRLF and nothing else.
///
/// SMTP smuggling (bare `\n.\n`, `\r.\r`, `\n.\r\n` and the like) cannot end the message:
/// only a line that began after a real CRLF can be the terminator. Bare CR and bare LF are
/// reported (`sawBareLineEnding`) and written out as CRLF, so the output is canonical either
/// way; whether the message is then refused or kept is the session's policy.
///
/// Output is handed on as slices of the input where possible, never as one contiguous copy.
public struct DataDecoder: Sendable {
    /// One decoded unit of message content.
    public enum Frame: Hashable, Sendable {
        case content(ByteBuffer)
        /// The terminating CRLF "." CRLF was read; nothing after it belongs to the message.
        case end
    }

    private enum LineStart {
        /// After a real CRLF (or at the start of the data): a "." CRLF line here ends the message.
        case afterCRLF
        /// After a bare CR or LF: a new line for unstuffing, but never the end of the message.
        case afterBareLineEnding
        case none
    }

    public let maximumLineLength: Int
    private var lineStart = LineStart.afterCRLF
    private var lineLength = 0
    public private(set) var isFinished = false
    /// A bare CR or LF was seen (RFC 5321 §2.3.8 forbids them).
    public private(set) var sawBareLineEnding = false
    /// A text line exceeded `maximumLineLength` octets.
    public private(set) var sawOverlongLine = false
    /// Octets of decoded content produced so far.
    public private(set) var contentLength = 0

    public init(maximumLineLength: Int) {
        self.maximumLineLength = maximumLineLength
    }

    private enum Step {
        case emit(Int)
        case skip(Int)
        case emitCRLFLine(dot: Bool, consume: Int)
        case end(consume: Int)
        case needMore
    }

    /// Returns the next frame, consuming its bytes, or nil when more input is needed.
    public mutating func decode(_ buffer: inout ByteBuffer) -> Frame? {
        guard !isFinished else { return nil }
        while true {
            let step = buffer.withUnsafeReadableBytes { scan($0) }
            switch step {
            case .needMore:
                return nil
            case .emit(let count):
                contentLength += count
                return .content(buffer.readSlice(length: count) ?? ByteBuffer())
            case .skip(let count):
                buffer.moveReaderIndex(forwardBy: count)
            case .emitCRLFLine(let dot, let consume):
                buffer.moveReaderIndex(forwardBy: consume)
                let out = ByteBuffer(string: dot ? ".\r\n" : "\r\n")
                contentLength += out.readableBytes
                return .content(out)
            case .end(let consume):
                buffer.moveReaderIndex(forwardBy: consume)
                isFinished = true
                return .end
            }
        }
    }

    /// A word with the high bit set in each byte that is CR or LF, counting from the least
    /// significant byte (the first in memory), exact up to and including the first such
    /// byte; bytes after it may be marked too (the subtraction's borrow), so only the
    /// lowest mark, which is always exact, is to be used.
    static func lineEndings(in word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, highBits: UInt64 = 0x8080_8080_8080_8080
        let cr = word ^ 0x0D0D_0D0D_0D0D_0D0D, lf = word ^ 0x0A0A_0A0A_0A0A_0A0A
        return (((cr &- ones) & ~cr) | ((lf &- ones) & ~lf)) & highBits
    }

    /// Scans from the start of `bytes`, updating line state for every byte it passes.
    private mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Step {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), dot = UInt8(ascii: ".")
        let n = bytes.count
        var i = 0
        while i < n {
            let byte = bytes[i]
            if lineStart != .none && byte == dot {
                if i > 0 { return .emit(i) }
                guard n >= 2 else { return .needMore }
                switch bytes[1] {
                case cr:
                    guard n >= 3 else { return .needMore }
                    if bytes[2] == lf {
                        if lineStart == .afterCRLF { return .end(consume: 3) }
                        lineStart = .afterCRLF
                        lineLength = 0
                        return .emit(3)  // a lone "." line after a bare line ending is content
                    }
                    sawBareLineEnding = true
                    lineStart = .afterBareLineEnding
                    return .emitCRLFLine(dot: true, consume: 2)
                case lf:
                    sawBareLineEnding = true
                    lineStart = .afterBareLineEnding
                    return .emitCRLFLine(dot: true, consume: 2)
                default:
                    // A stuffed dot: the first "." of the line is removed.
                    lineStart = .none
                    lineLength = 0
                    return .skip(1)
                }
            }
            if byte == cr {
                guard i + 1 < n else { return i > 0 ? .emit(i) : .needMore }
                if bytes[i + 1] == lf {
                    i += 2
                    lineStart = .afterCRLF
                    lineLength = 0
                    continue
                }
                if i > 0 { return .emit(i) }
                sawBareLineEnding = true
                lineStart = .afterBareLineEnding
                lineLength = 0
                return .emitCRLFLine(dot: false, consume: 1)
            }
            if byte == lf {
                if i > 0 { return .emit(i) }
                sawBareLineEnding = true
                lineStart = .afterBareLineEnding
                lineLength = 0
                return .emitCRLFLine(dot: false, consume: 1)
            }
            // Line content: run to the next CR or LF with the state in registers, not
            // updated per byte (this loop sees every byte of every message), eight bytes
            // at a time while eight remain.
            var end = i + 1
            while end < n {
                if n - end >= 8 {
                    let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: end, as: UInt64.self))
                    let hits = Self.lineEndings(in: word)
                    if hits == 0 {
                        end += 8
                        continue
                    }
                    end += hits.trailingZeroBitCount >> 3
                    break
                }
                let b = bytes[end]
                if b == cr || b == lf { break }
                end += 1
            }
            lineStart = .none
            lineLength += end - i
            if lineLength > maximumLineLength { sawOverlongLine = true }
            i = end
        }
        return i > 0 ? .emit(i) : .needMore
    }
}
