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
public struct JournalReportSplitter {
    public struct Limits: Sendable {
        /// The top-level header section is decided on within this many bytes; past it the
        /// message is not a report.
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
    }

    public enum Outcome: Sendable, Equatable {
        case notAReport(held: [UInt8])
        /// The parsed envelope part, and how the message as received is rebuilt from the
        /// original passed to `original`.
        case report(ReportEnvelope, WrapperRecipe)
        case malformed(Failure)
    }

    // Placeholder until the splitter lands (helper branch i24-parser): nothing is a report.
    public init(limits: Limits = Limits()) {}

    /// Feeds the next bytes of the message as received (after SMTP dot-unstuffing).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer,
                              original: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Progress {
        .notAReport(held: Array(bytes))
    }

    /// The message has ended.
    public mutating func finish(original: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Outcome {
        .notAReport(held: [])
    }
}
