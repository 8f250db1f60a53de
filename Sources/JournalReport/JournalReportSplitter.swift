/// Splits a message, as it streams in, into the original a journal report wraps and the
/// report around it (docs/ARCHITECTURE.md, "Journal reports").
///
/// The splitter first holds the top-level header section (up to `Limits.headerSection`
/// bytes) to decide. Not a report: `feed` returns `.notAReport(held:)` once, with every
/// byte fed so far, and must not be fed again. A report: the bytes of the original (the
/// `message/rfc822` part, decoded when that part is base64) are passed to the `original`
/// closure as they are recognised, and everything else is kept for the `WrapperRecipe`.
/// Whatever goes wrong (a report that is not well formed, a wrapper past its limit) ends
/// in `.failed`, whose recipe rebuilds, from the original bytes passed so far, exactly the
/// bytes fed so far, so the caller can archive the message as plain mail and lose nothing.
///
/// Pure: no I/O, no allocation beyond the held header, the wrapper (bounded) and the
/// envelope part (bounded); never traps on any input.
public struct JournalReportSplitter: Sendable {
    public struct Limits: Sendable {
        /// The top-level header section is decided on within this many bytes; past it the
        /// message is not a report. For a DSN the same bound covers everything up to the
        /// header section of the message it returns.
        public var headerSection = 64 * 1024
        /// Bytes of the report that are not the original (headers, envelope part, MIME
        /// framing). A report for a message to a 5,000-member list has about 300 KB of
        /// `Recipient:` lines.
        public var wrapper = 4 * 1024 * 1024

        public init() {}
    }

    public enum Progress: Sendable, Equatable {
        /// Still reading the top-level header section.
        case deciding
        /// Not a journal report: here is everything fed so far; archive it as plain mail.
        case notAReport(held: [UInt8])
        /// A journal report so far.
        case report
        /// A report that is not well formed (or past a limit): archive as plain mail.
        case failed(Failure)
    }

    public struct Failure: Sendable, Equatable, Error {
        /// For the log line and the operator: what was wrong, in a few words.
        public var reason: String
        /// Rebuilds, from the original bytes passed so far, every byte fed so far.
        public var recipe: WrapperRecipe

        public init(reason: String, recipe: WrapperRecipe) {
            self.reason = reason
            self.recipe = recipe
        }
    }

    public enum Outcome: Sendable, Equatable {
        case notAReport(held: [UInt8])
        /// The parsed envelope part, and how the message as received is rebuilt from the
        /// original passed to `original`.
        case report(ReportEnvelope, WrapperRecipe)
        case malformed(Failure)
    }

    private enum Stage {
        /// Before the original's body: every byte is in `head`.
        case head
        case original(OriginalScanner)
        /// After the original's body: every byte goes to `tail`.
        case tail(WrapperRecipe.Encoding)
        case notAReport
        case failed(Failure)
    }

    private let limits: Limits
    private var stage = Stage.head
    private var structure = ReportStructure()
    private var head: [UInt8] = []
    private var tail: [UInt8] = []

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Feeds the next bytes of the message as received (after SMTP dot-unstuffing).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer,
                              original: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Progress {
        switch stage {
        case .head: return try feedHead(bytes, original: original)
        case .original: return try feedOriginal(bytes, original: original)
        case .tail(let encoding): return feedTail(bytes, encoding: encoding)
        case .notAReport: return .notAReport(held: [])
        case .failed(let failure): return .failed(failure)
        }
    }

    /// The message has ended.
    public mutating func finish(original: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Outcome {
        switch stage {
        case .head:
            guard !structure.deciding else {
                stage = .notAReport
                return .notAReport(held: head)
            }
            var reason = "the report ends before its original"
            if case .failed(let why) = structure.read(head, atEnd: true) { reason = why }
            return .malformed(fail(reason, WrapperRecipe(head: head, encoding: .identity, tail: [])))
        case .original(var scanner):
            switch scanner.finish() {
            case .ended(let close, let delimiter, _):
                tail = delimiter
                stage = .tail(scanner.encoding)
                if case .failed(let reason) = structure.originalEnded(close: close, cursor: tail.count) {
                    return .malformed(fail(reason, WrapperRecipe(head: head, encoding: scanner.encoding, tail: tail)))
                }
                return finishTail(encoding: scanner.encoding)
            case .failed(let reason):
                return .malformed(fail(reason, WrapperRecipe(head: head, encoding: scanner.encoding, tail: scanner.held)))
            case .more:
                return .malformed(fail("the original's part has no closing delimiter",
                                       WrapperRecipe(head: head, encoding: scanner.encoding, tail: scanner.held)))
            }
        case .tail(let encoding):
            return finishTail(encoding: encoding)
        case .notAReport:
            return .notAReport(held: [])
        case .failed(let failure):
            return .malformed(failure)
        }
    }

    /// What the splitter holds now, as a recipe: it rebuilds every byte fed so far from
    /// the original passed so far (the invariant the tests check after every feed).
    var recipeSoFar: WrapperRecipe {
        switch stage {
        case .head: return WrapperRecipe(head: head, encoding: .identity, tail: [])
        case .original(let scanner): return WrapperRecipe(head: head, encoding: scanner.encoding, tail: scanner.held)
        case .tail(let encoding): return WrapperRecipe(head: head, encoding: encoding, tail: tail)
        case .failed(let failure): return failure.recipe
        case .notAReport: return WrapperRecipe(head: [], encoding: .identity, tail: [])
        }
    }

    // MARK: Stages

    private mutating func feedHead(_ bytes: UnsafeRawBufferPointer, original: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Progress {
        var at = 0
        while at < bytes.count {
            // One line at a time, so the original's start is found before its bytes are copied.
            let end = bytes.indexOfLineFeed(from: at).map { $0 + 1 } ?? bytes.count
            head.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[at..<end]))
            at = end
            let rest = UnsafeRawBufferPointer(rebasing: bytes[at...])
            reading: while true {
                switch structure.read(head, atEnd: false) {
                case .more: break reading
                case .decidedReport: continue
                case .notAReport:
                    head.append(contentsOf: rest)
                    stage = .notAReport
                    return .notAReport(held: head)
                case .failed(let reason):
                    head.append(contentsOf: rest)
                    return .failed(fail(reason, WrapperRecipe(head: head, encoding: .identity, tail: [])))
                case .originalStarts(let base64):
                    guard let boundary = structure.report else { break reading }
                    stage = .original(OriginalScanner(boundary: boundary, base64: base64))
                    return try feedOriginal(rest, original: original)
                }
            }
            // Judged on the complete lines read, so that the verdict does not depend on the
            // chunking; a line still coming counts once it is longer than an empty line
            // (the only kind that decides), which keeps the memory within the limit.
            let read = structure.cursor, slack = 2
            if structure.deciding, read > limits.headerSection || head.count > limits.headerSection + slack {
                head.append(contentsOf: rest)
                stage = .notAReport
                return .notAReport(held: head)
            }
            if !structure.deciding, read > limits.wrapper || head.count > limits.wrapper + slack {
                head.append(contentsOf: rest)
                return .failed(fail("the report's wrapper is over \(limits.wrapper) bytes", WrapperRecipe(head: head, encoding: .identity, tail: [])))
            }
        }
        return structure.deciding ? .deciding : .report
    }

    private mutating func feedOriginal(_ bytes: UnsafeRawBufferPointer, original: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Progress {
        guard case .original(var scanner) = stage else { return .report }
        // The stage lets go of the scanner while it works, so its buffer is not copied on
        // write; should `original` throw, the splitter is left unusable.
        stage = .notAReport
        let step = try scanner.feed(bytes, original: original)
        switch step {
        case .more:
            stage = .original(scanner)
            if head.count + scanner.held.count > limits.wrapper {
                return .failed(fail("the report's wrapper is over \(limits.wrapper) bytes",
                                    WrapperRecipe(head: head, encoding: scanner.encoding, tail: scanner.held)))
            }
            return .report
        case .failed(let reason):
            return .failed(fail(reason, WrapperRecipe(head: head, encoding: scanner.encoding, tail: scanner.held)))
        case .ended(let close, let delimiter, let rest):
            tail = delimiter
            stage = .tail(scanner.encoding)
            if case .failed(let reason) = structure.originalEnded(close: close, cursor: tail.count) {
                tail.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[rest...]))
                return .failed(fail(reason, WrapperRecipe(head: head, encoding: scanner.encoding, tail: tail)))
            }
            return feedTail(UnsafeRawBufferPointer(rebasing: bytes[rest...]), encoding: scanner.encoding)
        }
    }

    private mutating func feedTail(_ bytes: UnsafeRawBufferPointer, encoding: WrapperRecipe.Encoding) -> Progress {
        tail.append(contentsOf: bytes)
        if head.count + tail.count > limits.wrapper {
            return .failed(fail("the report's wrapper is over \(limits.wrapper) bytes", WrapperRecipe(head: head, encoding: encoding, tail: tail)))
        }
        if case .failed(let reason) = structure.read(tail, atEnd: false) {
            return .failed(fail(reason, WrapperRecipe(head: head, encoding: encoding, tail: tail)))
        }
        return .report
    }

    private mutating func finishTail(encoding: WrapperRecipe.Encoding) -> Outcome {
        let recipe = WrapperRecipe(head: head, encoding: encoding, tail: tail)
        if case .failed(let reason) = structure.read(tail, atEnd: true) {
            return .malformed(fail(reason, recipe))
        }
        guard structure.complete, let envelope = structure.envelope else {
            return .malformed(fail(structure.phase == .dsnEpilogue ? "the DSN has no closing delimiter" : "the report has no closing delimiter", recipe))
        }
        stage = .notAReport
        return .report(envelope, recipe)
    }

    private mutating func fail(_ reason: String, _ recipe: WrapperRecipe) -> Failure {
        let failure = Failure(reason: reason, recipe: recipe)
        stage = .failed(failure)
        head = []
        tail = []
        return failure
    }
}
