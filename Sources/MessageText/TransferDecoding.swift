/// Content-Transfer-Encoding undone (RFC 2045 sections 6.7 and 6.8), as streaming
/// decoders: fed any split of the input they give the same bytes, holding at most a
/// base64 quantum or a quoted-printable escape (with its soft break's white space).
public enum TransferDecoding {
    /// The whole of `body` decoded; identity for 7bit, 8bit, binary and unknown names.
    public static func decode(_ body: some Collection<UInt8>, transferEncoding: String?) -> [UInt8] {
        var decoder = TransferDecoder(transferEncoding: transferEncoding)
        var out: [UInt8] = []
        decoder.feed(body, into: &out)
        decoder.finish(into: &out)
        return out
    }
}

/// One part's transfer decoder.
public struct TransferDecoder: Sendable {
    enum Kind: Sendable { case identity, quotedPrintable(QuotedPrintableDecoder), base64(Base64Decoder) }
    var kind: Kind

    public init(transferEncoding: String?) {
        switch transferEncoding.map(CharsetText.normalized) {
        case "quoted-printable": kind = .quotedPrintable(QuotedPrintableDecoder())
        case "base64": kind = .base64(Base64Decoder())
        default: kind = .identity
        }
    }

    public mutating func feed(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        switch kind {
        case .identity: out.append(contentsOf: bytes)
        case .quotedPrintable(var d): d.feed(bytes, into: &out); kind = .quotedPrintable(d)
        case .base64(var d): for b in bytes { d.feed(b, into: &out) }; kind = .base64(d)
        }
    }

    public mutating func finish(into out: inout [UInt8]) {
        switch kind {
        case .identity: break
        case .quotedPrintable(var d): d.finish(into: &out); kind = .quotedPrintable(d)
        case .base64(var d): d.finish(into: &out); kind = .base64(d)
        }
    }
}

/// Quoted-printable: "=" and two hex digits is a byte; "=" then optional white space then
/// CRLF or LF (or the end) is a soft line break; any other "=" is kept as written
/// (RFC 2045 6.7, note 1).
struct QuotedPrintableDecoder: Sendable {
    /// The bytes after an "=" not decided yet (a hex digit, or white space and a CR).
    private var pending: [UInt8] = []
    private var inEscape = false
    /// White space after "=" beyond this is not a soft break's padding: kept as written.
    static let maxPadding = 998

    mutating func feed(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        for b in bytes { step(b, into: &out) }
    }

    private mutating func step(_ b: UInt8, into out: inout [UInt8]) {
        guard inEscape else {
            if b == UInt8(ascii: "=") { inEscape = true } else { out.append(b) }
            return
        }
        let isWhite = b == UInt8(ascii: " ") || b == UInt8(ascii: "\t")
        if let first = pending.first, first != UInt8(ascii: " "), first != UInt8(ascii: "\t"), first != UInt8(ascii: "\r") {
            // "=" and one hex digit so far.
            if let high = hexDigitValue(first), let low = hexDigitValue(b) {
                out.append(high << 4 | low)
                pending.removeAll()
                inEscape = false
                return
            }
            giveUp(then: b, into: &out)
            return
        }
        if pending.last == UInt8(ascii: "\r") {
            if b == UInt8(ascii: "\n") { pending.removeAll(); inEscape = false; return }
            giveUp(then: b, into: &out)
            return
        }
        if b == UInt8(ascii: "\n") { pending.removeAll(); inEscape = false; return }
        if b == UInt8(ascii: "\r") || (isWhite && pending.count < Self.maxPadding) { pending.append(b); return }
        if pending.isEmpty, hexDigitValue(b) != nil { pending.append(b); return }
        giveUp(then: b, into: &out)
    }

    /// Not an escape: "=" is kept as written and the held bytes are read again as text.
    private mutating func giveUp(then b: UInt8, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "="))
        let held = pending
        pending.removeAll()
        inEscape = false
        for h in held { step(h, into: &out) }
        step(b, into: &out)
    }

    mutating func finish(into out: inout [UInt8]) {
        guard inEscape else { return }
        // "=" and white space at the very end is a soft break; anything else is kept.
        if pending.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
            pending.removeAll()
        } else {
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: pending)
            pending.removeAll()
        }
        inEscape = false
    }
}

/// Lenient base64: characters outside the alphabet are skipped; "=" ends a quantum early
/// (its bits so far are kept) and decoding goes on after it, so concatenated encodings
/// and missing padding both decode.
struct Base64Decoder: Sendable {
    private var quantum: UInt32 = 0
    private var count = 0

    mutating func feed(_ b: UInt8, into out: inout [UInt8]) {
        if b == UInt8(ascii: "=") { flushPartial(into: &out); return }
        let v = Base64Alphabet.value[Int(b)]
        guard v != Base64Alphabet.invalid else { return }
        quantum = quantum << 6 | UInt32(v)
        count += 1
        if count == 4 {
            out.append(UInt8(quantum >> 16 & 0xFF)); out.append(UInt8(quantum >> 8 & 0xFF)); out.append(UInt8(quantum & 0xFF))
            quantum = 0
            count = 0
        }
    }

    mutating func finish(into out: inout [UInt8]) { flushPartial(into: &out) }

    private mutating func flushPartial(into out: inout [UInt8]) {
        if count == 2 { out.append(UInt8(quantum >> 4 & 0xFF)) }
        if count == 3 { out.append(UInt8(quantum >> 10 & 0xFF)); out.append(UInt8(quantum >> 2 & 0xFF)) }
        quantum = 0
        count = 0
    }
}

/// RFC 4648 section 4: each byte's 6-bit value, `invalid` outside the alphabet.
public enum Base64Alphabet {
    public static let invalid: UInt8 = 0xFF
    public static let value: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()
}

/// A hex digit's value (either case), nil for any other byte.
func hexDigitValue(_ b: UInt8) -> UInt8? {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
    default: return nil
    }
}
