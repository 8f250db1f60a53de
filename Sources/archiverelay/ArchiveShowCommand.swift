import ArchiveStore
import ArgumentParser
import DurableFiles
import Foundation
import JournalReport
import OperatorText

extension ArchiveCommand {
    /// `archive show`: one original and every arrival that brought it, with its full
    /// envelope (docs/OPERATIONS.md, "Showing a message").
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one original (its header summary, size, SHA-256) and every arrival with its full envelope.",
            discussion: "Header values are unfolded, not MIME-decoded, and every control character is escaped; --json gives exact values."
        )
        @OptionGroup var data: DataDirectoryOption
        @Argument(help: "An archive id, an arrival id, a Message-ID, or sha256:HEX.") var key: String
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            try reportingErrors {
                let reader = try ArchiveReader(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote)
                let entry = try reader.lookup(key)
                let shown = ShownOriginal(entry: entry, headers: OriginalHeaders(original: try reader.original(entry)),
                                          arrivals: try reader.arrivals(of: entry))
                try AuditedRead.record("archive.show", dataDirectory: data.dataDirectory, arguments: ["id": key], resultCount: 1)
                if json {
                    writeJSONLine(try JSONLine.encode(shown.json))
                } else {
                    writeStdout(shown.text)
                }
            }
        }
    }
}

/// What `archive show` prints: an original and its arrivals.
struct ShownOriginal {
    var entry: ArchiveIndexEntry
    var headers: OriginalHeaders
    var arrivals: [Arrival]

    /// Stable snake_case keys; an absent value is null, never left out.
    var json: [String: Any] {
        [
            "id": entry.id, "sha256": entry.sha256, "size": entry.size, "stored_size": entry.storedSize,
            "received_at": CommandLineTime.format(entry.receivedAt), "journal": entry.journal,
            "senders": entry.senders, "recipients": entry.recipients,
            "headers": [
                "from": headers.from ?? NSNull(), "to": headers.to ?? NSNull(), "cc": headers.cc ?? NSNull(),
                "subject": headers.subject ?? NSNull(), "date": headers.date ?? NSNull(), "message_id": headers.messageID ?? NSNull(),
            ] as [String: Any],
            "arrivals": arrivals.map(Self.json),
        ]
    }

    static func json(_ a: Arrival) -> [String: Any] {
        let e = a.envelope
        return [
            "id": a.id, "received_at": CommandLineTime.format(e.receivedAt), "node": e.node, "listener": e.listener,
            "client": e.clientAddress, "helo": e.helo, "tls": e.tls ?? NSNull(), "mail_from": e.sender, "rcpt_to": e.recipients,
            "received_size": a.receivedSize, "received_sha256": Hex.encode(a.receivedSHA256), "wrapper": a.wrapper != nil,
            "report": a.report.map(json) ?? NSNull(),
        ]
    }

    static func json(_ r: ReportEnvelope) -> [String: Any] {
        [
            "format": r.format.label, "sender": r.sender ?? NSNull(), "on_behalf_of": r.onBehalfOf ?? NSNull(),
            "subject": r.subject ?? NSNull(), "message_id": r.messageID ?? NSNull(), "via_dsn": r.viaDSN,
            "recipients": r.recipients.map { recipient -> [String: Any] in
                ["address": recipient.address, "kind": recipient.kind.label, "expanded_from": recipient.expandedFrom ?? NSNull(),
                 "forwarded_from": recipient.forwardedFrom ?? NSNull()]
            },
        ]
    }

    /// Indented `name: value` lines; `-` for an absent value, `<>` for the null sender.
    var text: TerminalText {
        var out: TerminalText = "original \(entry.id)\n"
        out += Self.line("sha256", entry.sha256)
        out += Self.line("size", String(entry.size))
        out += Self.line("from", headers.from)
        out += Self.line("to", headers.to)
        out += Self.line("cc", headers.cc)
        out += Self.line("subject", headers.subject)
        out += Self.line("date", headers.date)
        out += Self.line("message-id", headers.messageID)
        for (n, a) in arrivals.enumerated() {
            out += Self.text(a, number: n + 1, of: arrivals.count)
        }
        return out
    }

    static func text(_ a: Arrival, number: Int, of count: Int) -> TerminalText {
        let e = a.envelope
        var out: TerminalText = "arrival \(number)/\(count) \(a.id)\n"
        out += line("received-at", CommandLineTime.format(e.receivedAt))
        out += line("node", e.node.isEmpty ? nil : e.node)
        out += line("listener", e.listener)
        out += line("client", e.clientAddress)
        out += line("helo", e.helo)
        out += line("tls", e.tls ?? "none")
        out += line("mail-from", "<\(e.sender)>")
        out += line("rcpt-to", e.recipients.map { "<\($0)>" }.joined(separator: ", "))
        out += line("received", a.wrapper == nil ? "\(a.receivedSize) bytes, the original" : "\(a.receivedSize) bytes, wrapped (get --as-received)")
        guard let report = a.report else { return out }
        out += line("report", "\(report.format.label)\(report.viaDSN ? ", via DSN" : "")")
        out += line("report-sender", report.sender.map { "<\($0)>" })
        out += line("report-on-behalf-of", report.onBehalfOf.map { "<\($0)>" })
        out += line("report-subject", report.subject)
        out += line("report-message-id", report.messageID)
        for r in report.recipients {
            var value = "\(r.kind.label) <\(r.address)>"
            if let list = r.expandedFrom { value += ", expanded from <\(list)>" }
            if let original = r.forwardedFrom { value += ", forwarded from <\(original)>" }
            out += line("report-recipient", value)
        }
        return out
    }

    private static func line(_ name: String, _ value: String?) -> TerminalText {
        "  \(TerminalText(stringLiteral: name.padding(toLength: 20, withPad: " ", startingAt: 0)))\(value ?? "-")\n"
    }
}

extension ReportEnvelope.Format {
    /// The grammar's name in `show`: `exchange2007` or `exchange2003`.
    var label: String {
        switch self {
        case .exchange2007: "exchange2007"
        case .exchange2003: "exchange2003"
        }
    }
}
