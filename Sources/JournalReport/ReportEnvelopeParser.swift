import MessageText

/// The grammar of a journal report's envelope part (docs/ARCHITECTURE.md, "Journal
/// reports"). Exchange 2007 and later write one value per line: `Sender:`,
/// `On-Behalf-Of:`, `Subject:`, `Message-Id:`, then one `To:` / `Cc:` / `Bcc:` /
/// `Recipient:` line per recipient, each with an optional `, Expanded: <list>` or
/// `, Forwarded: <address>` suffix. Exchange 2003 writes `Sender:`, `Message-ID:` and
/// `Recipients:` (addresses separated by commas) or `Recipient:` lines. Both are read by
/// the same rules: names case-insensitive, folded lines joined, CRLF or LF, unknown
/// names skipped.
public enum ReportEnvelopeParser {
    public struct ParseError: Error, Equatable, Sendable {
        public var reason: String
    }

    /// Exchange's words for "no sender" and "no Message-ID".
    static let unspecifiedAddress = "unspecified address"
    static let unknownMessageID = "unknown message-id"

    /// Parses an envelope part's body as it was sent: undoes `transferEncoding`
    /// (`Content-Transfer-Encoding`) and `charset` first (MessageText's decoders).
    public static func parse(partBody: some Collection<UInt8>, transferEncoding: String?, charset: String?,
                             format: ReportEnvelope.Format) throws(ParseError) -> ReportEnvelope {
        try parse(CharsetText.decode(TransferDecoding.decode(partBody, transferEncoding: transferEncoding), charset: charset), format: format)
    }

    /// Parses the envelope part's text. A text with neither a `Sender:` line nor a
    /// recipient line is not a journal envelope.
    public static func parse(_ text: String, format: ReportEnvelope.Format) throws(ParseError) -> ReportEnvelope {
        var envelope = ReportEnvelope(format: format)
        var sawSender = false, sawSubject = false, sawMessageID = false
        for line in logicalLines(text) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingWhite().lowercased()
            let value = line[line.index(after: colon)...].trimmingWhite()
            switch name {
            case "sender" where !sawSender:
                sawSender = true
                envelope.sender = value.isEmpty || value.lowercased() == unspecifiedAddress ? nil : value
            case "on-behalf-of" where envelope.onBehalfOf == nil:
                envelope.onBehalfOf = value.isEmpty || value.lowercased() == unspecifiedAddress ? nil : value
            case "subject" where !sawSubject:
                sawSubject = true
                envelope.subject = value
            case "message-id" where !sawMessageID:
                sawMessageID = true
                envelope.messageID = value.isEmpty || value.lowercased() == unknownMessageID ? nil : value
            case "to": envelope.recipients += recipients(value, kind: .to)
            case "cc": envelope.recipients += recipients(value, kind: .cc)
            case "bcc": envelope.recipients += recipients(value, kind: .bcc)
            case "recipient", "recipients": envelope.recipients += recipients(value, kind: .recipient)
            default: continue
            }
        }
        guard sawSender || !envelope.recipients.isEmpty else {
            throw ParseError(reason: "no Sender or recipient line")
        }
        return envelope
    }

    /// The text's lines with folded continuations (a line starting with white space)
    /// joined to the line before, line breaks removed.
    static func logicalLines(_ text: String) -> [String] {
        var lines: [String] = []
        for raw in text.utf8.split(separator: Byte.lf, omittingEmptySubsequences: false) {
            var line = Substring(raw)
            if line.utf8.last == Byte.cr { line = Substring(line.utf8.dropLast()) }
            if let first = line.utf8.first, first == Byte.space || first == Byte.tab, !lines.isEmpty {
                lines[lines.count - 1] += line
            } else {
                lines.append(String(line))
            }
        }
        return lines
    }

    /// One line's value: addresses separated by commas (Exchange 2007 writes one,
    /// Exchange 2003's `Recipients:` several), each `Expanded:` / `Forwarded:` item
    /// applying to the address before it.
    static func recipients(_ value: String, kind: ReportEnvelope.Recipient.Kind) -> [ReportEnvelope.Recipient] {
        var result: [ReportEnvelope.Recipient] = []
        for item in value.split(separator: ",") {
            let token = item.trimmingWhite()
            guard !token.isEmpty else { continue }
            if let source = suffix(token, "expanded:") {
                if !result.isEmpty, !source.isEmpty { result[result.count - 1].expandedFrom = source }
            } else if let source = suffix(token, "forwarded:") {
                if !result.isEmpty, !source.isEmpty { result[result.count - 1].forwardedFrom = source }
            } else {
                result.append(ReportEnvelope.Recipient(address: token, kind: kind))
            }
        }
        return result
    }

    private static func suffix(_ token: String, _ label: String) -> String? {
        guard token.count >= label.count, token.prefix(label.count).lowercased() == label else { return nil }
        return token.dropFirst(label.count).trimmingWhite()
    }
}
