import MessageText

/// The line-by-line reading of everything in a report that is not the original: the
/// top-level header section, the DSN around a bounced report, the report's header
/// section, its parts up to the original's body, and after the original the parts left
/// and the close delimiters. Works over the splitter's buffer (the head before the
/// original, the tail after it), reading each complete line once.
struct ReportStructure {
    enum Phase: Equatable {
        case topHeaders
        case dsnPreamble
        case dsnPartHeaders(start: Int)
        case dsnPartBody
        /// The DSN's `message/rfc822` part: the header section of the message it returns.
        case innerHeaders(start: Int)
        case reportPreamble
        case reportPartHeaders(start: Int)
        case envelopeBody(start: Int, transferEncoding: String?, charset: String?)
        case otherPartBody
        case original
        /// The report closed inside a DSN: the DSN's close delimiter is still to come.
        case dsnEpilogue
        case done
    }

    enum Step: Equatable {
        case more
        case decidedReport
        case notAReport
        /// The original's body starts at the cursor, encoded so.
        case originalStarts(base64: Bool)
        case failed(String)
    }

    private(set) var phase: Phase = .topHeaders
    /// The next byte of the buffer not yet read.
    private(set) var cursor = 0
    /// Where the line before the current one ended (its line break started).
    private var previousBreak = 0
    private(set) var format: ReportEnvelope.Format?
    private(set) var envelope: ReportEnvelope?
    private(set) var report: MIMEBoundary?
    private var dsn: MIMEBoundary?
    private var envelopeTaken = false
    private var originalTaken = false

    var deciding: Bool { format == nil }
    var complete: Bool { phase == .done }

    /// Reads the complete lines of `buffer` from the cursor (at `atEnd`, the last one
    /// too), stopping at the first step that is not `.more`.
    mutating func read(_ buffer: [UInt8], atEnd: Bool) -> Step {
        buffer.withUnsafeBytes { read($0, atEnd: atEnd) }
    }

    private mutating func read(_ b: UnsafeRawBufferPointer, atEnd: Bool) -> Step {
        while cursor < b.count {
            if phase == .done || phase == .original {
                cursor = b.count
                return .more
            }
            let start = cursor
            let lineFeed = b.indexOfLineFeed(from: start)
            guard lineFeed != nil || atEnd else { return .more }
            let next = lineFeed.map { $0 + 1 } ?? b.count
            var contentEnd = lineFeed ?? b.count
            if let lf = lineFeed, lf > start, b[lf - 1] == Byte.cr { contentEnd = lf - 1 }
            let step = line(b, start: start, contentEnd: contentEnd, next: next)
            previousBreak = contentEnd
            cursor = next
            if step != .more { return step }
        }
        return .more
    }

    /// Continues after the original's body, with the cursor at `cursor` of the tail:
    /// the delimiter that ended the original was the close delimiter or not.
    mutating func originalEnded(close: Bool, cursor: Int) -> Step {
        self.cursor = cursor
        previousBreak = cursor
        if close { return reportClosed() }
        phase = .reportPartHeaders(start: cursor)
        return .more
    }

    private mutating func line(_ b: UnsafeRawBufferPointer, start: Int, contentEnd: Int, next: Int) -> Step {
        let whole = UnsafeRawBufferPointer(rebasing: b[start..<next])
        let empty = contentEnd == start
        func headers(from sectionStart: Int) -> [MIMEHeaderField] {
            MIMEHeaderSection.parse(UnsafeRawBufferPointer(rebasing: b[sectionStart..<start]))
        }
        let outer = dsn?.delimiterLine(whole)
        let inner = report?.delimiterLine(whole)
        switch phase {
        case .topHeaders:
            guard empty else { return .more }
            let fields = headers(from: 0)
            if let format = Self.journalMark(fields) {
                self.format = format
                return beginReport(fields)
            }
            if let type = fields.contentType, type.is("multipart", "report"),
               type.parameters["report-type"]?.lowercased() == "delivery-status",
               let boundary = type.parameters["boundary"].flatMap(MIMEBoundary.init) {
                dsn = boundary
                phase = .dsnPreamble
                return .more
            }
            return .notAReport
        case .dsnPreamble, .dsnPartBody:
            guard let outer else { return .more }
            if outer { return .notAReport }
            phase = .dsnPartHeaders(start: next)
        case .dsnPartHeaders(let sectionStart):
            if let outer {
                if outer { return .notAReport }
                phase = .dsnPartHeaders(start: next)
                return .more
            }
            guard empty else { return .more }
            let fields = headers(from: sectionStart)
            guard let type = fields.contentType, type.is("message", "rfc822") else {
                phase = .dsnPartBody
                return .more
            }
            // RFC 2046 5.2.1: message/rfc822 is 7bit, 8bit or binary; encoded, it cannot
            // be looked into without decoding, and is archived as it came.
            guard Self.isIdentity(fields.transferEncoding) else { return .notAReport }
            phase = .innerHeaders(start: next)
        case .innerHeaders(let sectionStart):
            if outer != nil { return .notAReport }
            guard empty else { return .more }
            let fields = headers(from: sectionStart)
            guard let format = Self.journalMark(fields) else { return .notAReport }
            self.format = format
            return beginReport(fields)
        case .reportPreamble:
            if let inner {
                if inner { return .failed("the report has no parts") }
                phase = .reportPartHeaders(start: next)
            } else if outer != nil {
                return .failed("the DSN ends before the report it returns")
            }
        case .reportPartHeaders(let sectionStart):
            if let inner { return partEnded(close: inner, next: next) }
            if outer != nil { return .failed("the DSN ends before the report it returns") }
            guard empty else { return .more }
            return partStarts(headers(from: sectionStart), body: next)
        case .envelopeBody(let bodyStart, let transferEncoding, let charset):
            if let inner {
                let body = UnsafeRawBufferPointer(rebasing: b[bodyStart..<max(bodyStart, previousBreak)])
                do {
                    var parsed = try ReportEnvelopeParser.parse(partBody: body, transferEncoding: transferEncoding, charset: charset,
                                                                format: format ?? .exchange2007)
                    parsed.viaDSN = dsn != nil
                    envelope = parsed
                } catch {
                    return .failed("the envelope part does not parse: \(error.reason)")
                }
                return partEnded(close: inner, next: next)
            }
            if outer != nil { return .failed("the DSN ends before the report it returns") }
        case .otherPartBody:
            if let inner { return partEnded(close: inner, next: next) }
            if outer != nil { return .failed("the DSN ends before the report it returns") }
        case .dsnEpilogue:
            if outer == true { phase = .done }
        case .original, .done:
            break
        }
        return .more
    }

    private mutating func beginReport(_ fields: [MIMEHeaderField]) -> Step {
        guard let type = fields.contentType, type.is("multipart", "mixed") else {
            return .failed("the report is not multipart/mixed")
        }
        guard let boundary = type.parameters["boundary"].flatMap(MIMEBoundary.init) else {
            return .failed("the report's multipart/mixed has no usable boundary")
        }
        guard Self.isIdentity(fields.transferEncoding) else {
            return .failed("the report's body has transfer encoding \(fields.transferEncoding ?? "")")
        }
        report = boundary
        phase = .reportPreamble
        return .decidedReport
    }

    private mutating func partStarts(_ fields: [MIMEHeaderField], body: Int) -> Step {
        let type = fields.contentType ?? MIMEContentType("text/plain")
        if let type, type.is("text", "plain"), !envelopeTaken {
            envelopeTaken = true
            phase = .envelopeBody(start: body, transferEncoding: fields.transferEncoding, charset: type.parameters["charset"])
        } else if let type, type.is("message", "rfc822"), !originalTaken {
            originalTaken = true
            let encoding = fields.transferEncoding
            if Self.isIdentity(encoding) {
                phase = .original
                return .originalStarts(base64: false)
            }
            if encoding == "base64" {
                phase = .original
                return .originalStarts(base64: true)
            }
            return .failed("the original is encoded as \(encoding ?? "")")
        } else {
            phase = .otherPartBody
        }
        return .more
    }

    private mutating func partEnded(close: Bool, next: Int) -> Step {
        if close { return reportClosed() }
        phase = .reportPartHeaders(start: next)
        return .more
    }

    private mutating func reportClosed() -> Step {
        guard originalTaken else { return .failed("the report has no message/rfc822 part") }
        guard envelope != nil else { return .failed("the report has no text/plain envelope part") }
        phase = dsn == nil ? .done : .dsnEpilogue
        return .more
    }

    /// The marks of a journal report in a header section: `X-MS-Journal-Report` (any
    /// value), or Exchange 2003's `Content-Identifier: ExJournalReport` (also misspelt).
    static func journalMark(_ fields: [MIMEHeaderField]) -> ReportEnvelope.Format? {
        if fields.contains(where: { $0.name == "x-ms-journal-report" }) { return .exchange2007 }
        if fields.contains(where: {
            ($0.name == "content-identifier" || $0.name == "content-identifer") && $0.value.lowercased() == "exjournalreport"
        }) {
            return .exchange2003
        }
        return nil
    }

    static func isIdentity(_ transferEncoding: String?) -> Bool {
        switch transferEncoding {
        case nil, "7bit", "8bit", "binary": return true
        default: return false
        }
    }
}
