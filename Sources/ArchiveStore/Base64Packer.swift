import DurableFiles
import Glibc

/// Turns a message into its packed form (docs/FORMAT.md, "Packed body"): lines of base64
/// MIME content are stored as the bytes they encode, everything else as it is.
///
/// About half the bytes of real mail are base64 attachments and parts. zstd stores base64
/// text at best at 6/8 of its size, and finds none of the structure of what it encodes (a
/// bitmap, a text part); decoded, the same content compresses as itself. Only lines that
/// re-encode to exactly the bytes received are decoded, so unpacking restores the
/// original byte for byte; the record's SHA-256 is still that of the original.
///
/// Fed in slices as the message arrives; needs at most one line of look-behind (`carry`).
/// Writes tokens into a caller-owned staging buffer; `closeToken(in:)` ends the open
/// token so the caller can hand the buffer to the compressor and clear it.
struct Base64Packer {
    /// A base64 block starts with a line of at least this many characters, a multiple of
    /// 4 (encoders use 60, 64, 72 or 76); shorter runs are not worth a token.
    static let minimumLineLength = 40
    /// RFC 5322's line limit (998) rounded down to a multiple of 4.
    static let maximumLineLength = 996

    enum Tag: UInt8 {
        /// `00 n:u32 bytes`: n bytes of the original as they are.
        case literal = 0
        /// `01 L:u16 n:u32 bytes`: n bytes, base64-encoded (padded), cut into lines of L
        /// characters, each followed by CRLF.
        case base64 = 1
    }
    static let literalHeaderSize = 5
    static let base64HeaderSize = 7

    private enum OpenToken {
        case none
        case literal(header: Int)
        case base64(header: Int, lineLength: Int)
    }

    private var open = OpenToken.none
    /// Line length of the base64 block being read, 0 outside one. Survives `closeToken`.
    private var blockLineLength = 0
    /// The start of a line whose end has not arrived yet (at most one line long).
    private var carry: [UInt8] = []
    /// The current line grew too long for base64 and went out as literal bytes already.
    private var carryWentLiteral = false
    private var scratch = [UInt8](repeating: 0, count: maximumLineLength / 4 * 3)

    /// Packs `input`, the next bytes of the original, into `out`.
    mutating func pack(_ input: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        guard let base = input.baseAddress, !input.isEmpty else { return }
        var position = 0
        // Complete literal lines of `input` are copied in one run, not line by line.
        var run = 0..<0
        while position < input.count {
            guard let found = memchr(base + position, 0x0A, input.count - position) else {
                appendLiteral(input, run, into: &out)
                carryPartial(UnsafeRawBufferPointer(rebasing: input[position...]), into: &out)
                return
            }
            let end = base.distance(to: UnsafeRawPointer(found)) + 1
            let line = position..<end
            position = end
            if carryWentLiteral {
                carryWentLiteral = false
                appendLiteral(input, run, into: &out)
                run = 0..<0
                literal(UnsafeRawBufferPointer(rebasing: input[line]), into: &out)
            } else if !carry.isEmpty {
                appendLiteral(input, run, into: &out)
                run = 0..<0
                carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[line]))
                let complete = carry
                carry.removeAll(keepingCapacity: true)
                complete.withUnsafeBytes { packLine($0, into: &out) }
            } else if isCandidate(UnsafeRawBufferPointer(rebasing: input[line])) {
                appendLiteral(input, run, into: &out)
                run = 0..<0
                packLine(UnsafeRawBufferPointer(rebasing: input[line]), into: &out)
            } else {
                // Not base64: it also ends any block, and joins the literal run.
                blockLineLength = 0
                run = run.isEmpty ? line : run.lowerBound..<line.upperBound
            }
        }
        appendLiteral(input, run, into: &out)
    }

    /// Ends the message: an unterminated last line goes out as it is.
    mutating func finish(into out: inout [UInt8]) {
        if !carry.isEmpty {
            let rest = carry
            carry.removeAll()
            blockLineLength = 0
            rest.withUnsafeBytes { literal($0, into: &out) }
        }
        closeToken(in: &out)
    }

    /// Completes the open token's header. Call before handing `out` on; the next bytes
    /// packed open a new token of the kind they need.
    mutating func closeToken(in out: inout [UInt8]) {
        switch open {
        case .none: return
        case .literal(let header):
            out.storeLE(UInt32(out.count - header - Self.literalHeaderSize), at: header + 1)
        case .base64(let header, _):
            out.storeLE(UInt32(out.count - header - Self.base64HeaderSize), at: header + 3)
        }
        open = .none
    }

    // MARK: Lines

    /// A cheap first look: could this line (with its LF) continue or start a block?
    private func isCandidate(_ line: UnsafeRawBufferPointer) -> Bool {
        let content = line.count - 2
        guard content >= 4, content % 4 == 0, line[content] == 0x0D else { return false }
        if blockLineLength != 0 && content <= blockLineLength { return true }
        return content >= Self.minimumLineLength && content <= Self.maximumLineLength
    }

    /// One complete line, ending in LF.
    private mutating func packLine(_ line: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        let content = line.count - 2
        let isCRLF = content >= 0 && line[content] == 0x0D
        if isCRLF && blockLineLength != 0 && content % 4 == 0 && content <= blockLineLength {
            let chars = UnsafeRawBufferPointer(rebasing: line[..<content])
            if content == blockLineLength, let count = Base64Alphabet.decodeFull(chars, into: &scratch) {
                appendDecoded(count, lineLength: blockLineLength, into: &out)
                return
            }
            if content >= 4, let count = Base64Alphabet.decodeFinal(chars, into: &scratch) {
                appendDecoded(count, lineLength: blockLineLength, into: &out)
                // A token holds full lines and at most one shorter last line.
                closeToken(in: &out)
                blockLineLength = 0
                return
            }
        }
        blockLineLength = 0
        if isCRLF && content >= Self.minimumLineLength && content <= Self.maximumLineLength && content % 4 == 0,
           let count = Base64Alphabet.decodeFull(UnsafeRawBufferPointer(rebasing: line[..<content]), into: &scratch) {
            blockLineLength = content
            appendDecoded(count, lineLength: content, into: &out)
            return
        }
        literal(line, into: &out)
    }

    /// The start of a line that continues in the next slice.
    private mutating func carryPartial(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        if carryWentLiteral {
            literal(bytes, into: &out)
            return
        }
        carry.append(contentsOf: bytes)
        // Content, CR and LF of the longest base64 line: anything longer is literal.
        if carry.count > Self.maximumLineLength + 1 {
            blockLineLength = 0
            let long = carry
            carry.removeAll(keepingCapacity: true)
            long.withUnsafeBytes { literal($0, into: &out) }
            carryWentLiteral = true
        }
    }

    // MARK: Tokens

    private mutating func appendLiteral(_ input: UnsafeRawBufferPointer, _ run: Range<Int>, into out: inout [UInt8]) {
        guard !run.isEmpty else { return }
        literal(UnsafeRawBufferPointer(rebasing: input[run]), into: &out)
    }

    private mutating func literal(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        if case .literal = open {} else {
            closeToken(in: &out)
            open = .literal(header: out.count)
            out.append(Tag.literal.rawValue)
            out.appendLE(UInt32(0))
        }
        out.append(contentsOf: bytes)
    }

    private mutating func appendDecoded(_ count: Int, lineLength: Int, into out: inout [UInt8]) {
        if case .base64(_, lineLength) = open {} else {
            closeToken(in: &out)
            open = .base64(header: out.count, lineLength: lineLength)
            out.append(Tag.base64.rawValue)
            out.appendLE(UInt16(lineLength))
            out.appendLE(UInt32(0))
        }
        out.append(contentsOf: scratch[0..<count])
    }
}
