/// Counts the `Received:` fields of a message's header section as its bytes stream by,
/// and stops at the empty line that ends the section (RFC 5322 §2.1). Folded
/// continuation lines start with white space and are never counted; the obsolete
/// `Received :` spelling (RFC 5322 §4.5.3) is.
public struct ReceivedFieldCounter: Sendable {
    public private(set) var count = 0
    /// True once the empty line after the header section has been seen.
    public private(set) var headerSectionEnded = false

    private enum State: Sendable {
        /// At the start of a line, `matched` bytes of "received" seen so far.
        case lineStart(matched: Int)
        /// "received" seen, white space may come before the colon.
        case afterName
        /// A CR at the start of a line: an LF ends the section.
        case emptyLineCR
        case restOfLine
    }

    private var state = State.lineStart(matched: 0)
    private static let name = Array("received".utf8)

    public init() {}

    public mutating func consume(_ bytes: some Sequence<UInt8>) {
        // Contiguous bytes (every caller's case) are walked here, specialized; a generic
        // sequence from another module would be walked through its protocol, byte by byte.
        if bytes.withContiguousStorageIfAvailable({ consume(buffer: $0) }) != nil { return }
        Array(bytes).withUnsafeBufferPointer { consume(buffer: $0) }
    }

    private mutating func consume(buffer: UnsafeBufferPointer<UInt8>) {
        for byte in buffer {
            if headerSectionEnded { return }
            step(byte)
        }
    }

    private mutating func step(_ byte: UInt8) {
        switch state {
        case .lineStart(let matched):
            if matched == 0 && byte == UInt8(ascii: "\r") {
                state = .emptyLineCR
            } else if matched == 0 && byte == UInt8(ascii: "\n") {
                headerSectionEnded = true
            } else if matched < Self.name.count && LoopTraceParser.lowercased(byte) == Self.name[matched] {
                state = matched + 1 == Self.name.count ? .afterName : .lineStart(matched: matched + 1)
            } else {
                skipLine(byte)
            }
        case .afterName:
            if byte == UInt8(ascii: ":") {
                count += 1
                state = .restOfLine
            } else if byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") {
                skipLine(byte)
            }
        case .emptyLineCR:
            if byte == UInt8(ascii: "\n") { headerSectionEnded = true } else { skipLine(byte) }
        case .restOfLine:
            skipLine(byte)
        }
    }

    private mutating func skipLine(_ byte: UInt8) {
        state = byte == UInt8(ascii: "\n") ? .lineStart(matched: 0) : .restOfLine
    }
}
