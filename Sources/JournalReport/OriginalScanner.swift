import MessageText

/// Streams the body of the report's `message/rfc822` part (the original) out of the
/// bytes fed, up to the line break that begins the report's next delimiter. It holds back
/// only what could still be that delimiter's start: a line break and the line after it
/// while it matches. Identity bodies are passed on as slices of the fed bytes; base64 is
/// accepted only in canonical form (`WrapperRecipe.Encoding.base64`) and passed on
/// decoded, once per feed.
struct OriginalScanner {
    let boundary: MIMEBoundary
    let base64: Bool
    /// Bytes fed and neither passed on nor judged: from a line break (or the body's
    /// start) on.
    private(set) var held: [UInt8] = []
    /// The body's first line is still to be judged (no line break before it).
    private var atBodyStart = true
    /// Bytes of the original passed on so far (decoded, for base64).
    private(set) var passed = 0
    private var lineLength: Int?
    private var lastLineSeen = false
    private var decoded: [UInt8] = []

    init(boundary: MIMEBoundary, base64: Bool) {
        self.boundary = boundary
        self.base64 = base64
    }

    /// How the original passed so far sits in the bytes fed.
    var encoding: WrapperRecipe.Encoding {
        if base64, let lineLength { return .base64(lineLength: lineLength) }
        return .identity
    }

    enum Step {
        case more
        /// The original ended: `delimiter` (the held line break and the delimiter line)
        /// and the fed bytes from `rest` on follow it.
        case ended(close: Bool, delimiter: [UInt8], rest: Int)
        /// `held` now holds every byte fed that was not passed on.
        case failed(String)
    }

    mutating func feed(_ chunk: UnsafeRawBufferPointer, original: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Step {
        base64 ? try feedBase64(chunk, original: original) : try feedIdentity(chunk, original: original)
    }

    /// The message ended: the held bytes are the close of the report or it is truncated.
    mutating func finish() -> Step {
        let judgement = held.withUnsafeBytes { boundary.judge($0, at: 0, leadingBreak: !atBodyStart) }
        guard !held.isEmpty, case .needMore(let ifEnded) = judgement, let close = ifEnded else {
            return .failed("the original's part has no closing delimiter")
        }
        guard passed > 0 else { return .failed("the original is empty") }
        let delimiter = held
        held = []
        return .ended(close: close, delimiter: delimiter, rest: 0)
    }

    // MARK: Identity

    private mutating func feedIdentity(_ chunk: UnsafeRawBufferPointer, original: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Step {
        var from = 0
        if !held.isEmpty || atBodyStart {
            // Judge what is held with the chunk's first bytes, enough for a verdict.
            var probe = held
            probe.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<min(chunk.count, boundary.maximumCandidate)]))
            var judgement = probe.withUnsafeBytes { boundary.judge($0, at: 0, leadingBreak: !atBodyStart) }
            if atBodyStart, judgement == .notDelimiter, let first = probe.first, first == Byte.cr || first == Byte.lf {
                // A body that starts with a line break: that break may begin the delimiter.
                judgement = probe.withUnsafeBytes { boundary.judge($0, at: 0, leadingBreak: true) }
            }
            switch judgement {
            case .notDelimiter:
                atBodyStart = false
                try pass(held, original)
                held = []
            case .delimiter(let length, let close):
                return try delimiterFound(delimiter: Array(probe[..<length]), rest: length - held.count, in: chunk, close: close, original: original)
            case .needMore:
                held.append(contentsOf: chunk)
                return .more
            }
        }
        var search = from
        while true {
            guard let lineFeed = chunk.indexOfLineFeed(from: search) else {
                var end = chunk.count
                if end > from, chunk[end - 1] == Byte.cr { end -= 1 }  // may begin CRLF "--"
                try pass(UnsafeRawBufferPointer(rebasing: chunk[from..<end]), original)
                held.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[end...]))
                return .more
            }
            let lineBreak = lineFeed > from && chunk[lineFeed - 1] == Byte.cr ? lineFeed - 1 : lineFeed
            switch boundary.judge(chunk, at: lineBreak, leadingBreak: true) {
            case .notDelimiter:
                search = lineFeed + 1
            case .delimiter(let length, let close):
                try pass(UnsafeRawBufferPointer(rebasing: chunk[from..<lineBreak]), original)
                from = lineBreak
                let delimiter = Array(UnsafeRawBufferPointer(rebasing: chunk[lineBreak..<(lineBreak + length)]))
                return try delimiterFound(delimiter: delimiter, rest: lineBreak + length, in: chunk, close: close, original: original)
            case .needMore:
                try pass(UnsafeRawBufferPointer(rebasing: chunk[from..<lineBreak]), original)
                held.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[lineBreak...]))
                return .more
            }
        }
    }

    private mutating func delimiterFound(delimiter: [UInt8], rest: Int, in chunk: UnsafeRawBufferPointer, close: Bool,
                                         original: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Step {
        try flushDecoded(original)
        guard passed > 0 else {
            held = delimiter
            held.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[rest...]))
            return .failed("the original is empty")
        }
        held = []
        return .ended(close: close, delimiter: delimiter, rest: rest)
    }

    private mutating func pass(_ bytes: [UInt8], _ original: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard !bytes.isEmpty else { return }
        passed += bytes.count
        try bytes.withUnsafeBytes { try original($0) }
    }

    private mutating func pass(_ bytes: UnsafeRawBufferPointer, _ original: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard !bytes.isEmpty else { return }
        passed += bytes.count
        try original(bytes)
    }

    // MARK: Base64

    private mutating func feedBase64(_ chunk: UnsafeRawBufferPointer, original: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Step {
        var work = held
        held = []
        work.append(contentsOf: chunk)
        var at = 0
        let step = work.withUnsafeBytes { scanBase64($0, at: &at) }
        try flushDecoded(original)
        switch step {
        case .ended(let close, _, let end):
            if passed == 0 {
                held = Array(work[at...])
                return .failed("the original is empty")
            }
            // The rest starts inside the chunk: every held byte is before the delimiter's end.
            let delimiter = Array(work[at..<end])
            return .ended(close: close, delimiter: delimiter, rest: max(0, end - (work.count - chunk.count)))
        case .more, .failed:
            held = Array(work[at...])
            return step
        }
    }

    /// Reads lines from `at`, which is a line break (or the body's start), decoding each
    /// canonical line into `decoded` and leaving `at` at the line break after it.
    private mutating func scanBase64(_ b: UnsafeRawBufferPointer, at: inout Int) -> Step {
        while true {
            var judgement = boundary.judge(b, at: at, leadingBreak: !atBodyStart)
            if atBodyStart, judgement == .notDelimiter, at < b.count, b[at] == Byte.cr || b[at] == Byte.lf {
                // An empty body: the line break before the delimiter right after the header.
                judgement = boundary.judge(b, at: at, leadingBreak: true)
            }
            switch judgement {
            case .delimiter(let length, let close):
                return .ended(close: close, delimiter: [], rest: at + length)
            case .needMore:
                return .more
            case .notDelimiter:
                var lineStart = at
                if !atBodyStart {
                    guard at + 1 < b.count else { return .more }
                    guard b[at] == Byte.cr, b[at + 1] == Byte.lf else { return .failed("the original's base64 lines do not end in CRLF") }
                    lineStart += 2
                }
                guard let lineFeed = b.indexOfLineFeed(from: lineStart) else {
                    return b.count - lineStart > 1000 ? .failed("the original's base64 has a line over 996 characters") : .more
                }
                guard lineFeed > lineStart, b[lineFeed - 1] == Byte.cr else {
                    return .failed("the original's base64 lines do not end in CRLF")
                }
                if let reason = decodeLine(UnsafeRawBufferPointer(rebasing: b[lineStart..<(lineFeed - 1)])) { return .failed(reason) }
                atBodyStart = false
                at = lineFeed - 1
            }
        }
    }

    /// Decodes one line if `WrapperRecipe` rebuilds it exactly; else says why not.
    private mutating func decodeLine(_ line: UnsafeRawBufferPointer) -> String? {
        let n = line.count
        guard n > 0, n % 4 == 0 else { return "the original's base64 has a line of \(n) characters" }
        if let lineLength {
            guard !lastLineSeen else { return "the original's base64 goes on after a short or padded line" }
            guard n <= lineLength else { return "the original's base64 lines are not all \(lineLength) characters" }
            if n < lineLength { lastLineSeen = true }
        } else {
            guard n <= 996 else { return "the original's base64 has a line over 996 characters" }
            lineLength = n
        }
        let committed = decoded.count
        if let reason = decodeQuanta(line) {
            decoded.removeSubrange(committed...)
            return reason
        }
        return nil
    }

    private mutating func decodeQuanta(_ line: UnsafeRawBufferPointer) -> String? {
        let n = line.count
        var i = 0
        while i < n {
            let c0 = Base64Alphabet.value[Int(line[i])], c1 = Base64Alphabet.value[Int(line[i + 1])]
            let c2 = Base64Alphabet.value[Int(line[i + 2])], c3 = Base64Alphabet.value[Int(line[i + 3])]
            guard c0 != Base64Alphabet.invalid, c1 != Base64Alphabet.invalid else { return "the original's base64 is not canonical" }
            if c3 != Base64Alphabet.invalid, c2 != Base64Alphabet.invalid {
                let q = UInt32(c0) << 18 | UInt32(c1) << 12 | UInt32(c2) << 6 | UInt32(c3)
                decoded.append(UInt8(q >> 16)); decoded.append(UInt8(q >> 8 & 0xFF)); decoded.append(UInt8(q & 0xFF))
                i += 4
                continue
            }
            // Padding: only in the line's last quantum, which is then the original's last,
            // with the unused bits zero (RFC 4648 3.5) so that encoding gives it back.
            guard i + 4 == n, line[i + 3] == Byte.equals else { return "the original's base64 is not canonical" }
            if line[i + 2] == Byte.equals {
                guard c1 & 0x0F == 0 else { return "the original's base64 is not canonical" }
                decoded.append(c0 << 2 | c1 >> 4)
            } else {
                guard c2 != Base64Alphabet.invalid, c2 & 0x03 == 0 else { return "the original's base64 is not canonical" }
                decoded.append(c0 << 2 | c1 >> 4); decoded.append((c1 & 0x0F) << 4 | c2 >> 2)
            }
            lastLineSeen = true
            i += 4
        }
        return nil
    }

    private mutating func flushDecoded(_ original: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard !decoded.isEmpty else { return }
        passed += decoded.count
        let bytes = decoded
        decoded.removeAll(keepingCapacity: true)
        try bytes.withUnsafeBytes { try original($0) }
    }
}
