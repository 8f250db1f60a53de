import NIOCore

/// Frames command lines out of the byte stream (RFC 5321 §2.3.8: lines end with CRLF).
///
/// Memory is bounded by `maximumLineLength`: a longer line is consumed and dropped as it
/// arrives and reported once its end is seen, so a client cannot grow the buffer.
public struct CommandLineDecoder: Sendable {
    /// One framed unit of the command stream.
    public enum Frame: Hashable, Sendable {
        /// A line without its terminator. `bareLineFeed` is true when it ended in LF alone.
        case line(ByteBuffer, bareLineFeed: Bool)
        /// A line longer than the limit ended; its bytes were discarded.
        case lineTooLong
    }

    public let maximumLineLength: Int
    private var discarding = false

    public init(maximumLineLength: Int) {
        self.maximumLineLength = maximumLineLength
    }

    /// Returns the next frame, consuming its bytes, or nil when more input is needed.
    public mutating func decode(_ buffer: inout ByteBuffer) -> Frame? {
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if discarding || view.count > maximumLineLength + 1 {
                // Keep the last byte: it may be the CR of the CRLF that ends this line.
                discarding = true
                buffer.moveReaderIndex(forwardBy: max(0, view.count - 1))
            }
            return nil
        }
        let lineLength = lf - view.startIndex
        if discarding {
            discarding = false
            buffer.moveReaderIndex(forwardBy: lineLength + 1)
            return .lineTooLong
        }
        let hasCR = lineLength > 0 && view[lf - 1] == UInt8(ascii: "\r")
        let contentLength = hasCR ? lineLength - 1 : lineLength
        if contentLength > maximumLineLength {
            buffer.moveReaderIndex(forwardBy: lineLength + 1)
            return .lineTooLong
        }
        // Safe: contentLength + terminator bytes are readable.
        let line = buffer.readSlice(length: contentLength) ?? ByteBuffer()
        buffer.moveReaderIndex(forwardBy: lineLength + 1 - contentLength)
        return .line(line, bareLineFeed: !hasCR)
    }
}
