import Foundation
import JournalReport

/// Builds journal reports from the documented grammar (no real reports are public): the
/// top-level header section with its mark, the envelope part, the original's part, and
/// whatever else a test puts around them.
struct ReportFixture {
    enum OriginalPart {
        case identity(transferEncoding: String?)
        /// Base64 in lines of `lineLength` characters joined by CRLF (canonical).
        case base64(lineLength: Int)
        /// The part's body exactly as given, under `Content-Transfer-Encoding: base64`.
        case rawBase64([UInt8])
    }

    var lineBreak = "\r\n"
    var format = ReportEnvelope.Format.exchange2007
    var mark: String?
    var boundary = "----JournalReport_0001"
    var contentType: String?
    var preamble = "This is a multi-part message in MIME format."
    var envelopeHeaders = "Content-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: 7bit"
    var envelopeBody: [UInt8] = Array(ReportFixture.envelopeText.utf8)
    var original: [UInt8] = ReportFixture.sampleOriginal
    var originalPart = OriginalPart.identity(transferEncoding: "7bit")
    var originalFirst = false
    var includeEnvelope = true
    var includeOriginal = true
    var extraParts: [String] = []
    var closeDelimiter: String?
    var epilogue = ""

    static let envelopeText = """
        Sender: alice@corp.example\r
        Subject: Quarterly numbers\r
        Message-Id: <q3.42@corp.example>\r
        To: bob@corp.example\r
        Cc: carol@corp.example\r
        Bcc: dave@corp.example\r
        To: erin@corp.example, Expanded: team@corp.example\r
        Recipient: frank@other.example, Forwarded: fred@corp.example\r

        """

    static let expectedEnvelope = ReportEnvelope(
        format: .exchange2007, sender: "alice@corp.example", subject: "Quarterly numbers", messageID: "<q3.42@corp.example>",
        recipients: [
            .init(address: "bob@corp.example", kind: .to),
            .init(address: "carol@corp.example", kind: .cc),
            .init(address: "dave@corp.example", kind: .bcc),
            .init(address: "erin@corp.example", kind: .to, expandedFrom: "team@corp.example"),
            .init(address: "frank@other.example", kind: .recipient, forwardedFrom: "fred@corp.example"),
        ])

    static let sampleOriginal = Array("""
        From: Alice <alice@corp.example>\r
        To: bob@corp.example\r
        Subject: Quarterly numbers\r
        Message-ID: <q3.42@corp.example>\r
        MIME-Version: 1.0\r
        Content-Type: text/plain; charset=utf-8\r
        \r
        Numbers attached.\r
        --not-our-boundary\r
        ------JournalReport_0001X looks like the delimiter but is not\r
        ------JournalReport_0001- neither is this\r
        ------JournalReport_000\r
        \r
        Last line, no line break
        """.utf8)

    /// The report's bytes.
    var bytes: [UInt8] {
        let b = lineBreak
        func lines(_ text: String) -> String { text.replacingOccurrences(of: "\r\n", with: b) }
        var out = ""
        out += "From: journal@corp.example" + b + "To: archive@archive.example" + b + "Subject: Quarterly numbers" + b
        out += "MIME-Version: 1.0" + b
        switch format {
        case .exchange2007: out += (mark ?? "X-MS-Journal-Report:") + b
        case .exchange2003: out += (mark ?? "Content-Identifier: ExJournalReport") + b
        }
        out += "Content-Type: " + (contentType ?? "multipart/mixed;" + b + "\tboundary=\"\(boundary)\"") + b + b
        if !preamble.isEmpty { out += preamble + b }
        var bytes = Array(out.utf8)
        let envelope = Array(("--\(boundary)" + b + lines(envelopeHeaders) + b + b).utf8) + envelopeBody
        var originalBytes = Array(("--\(boundary)" + b + "Content-Type: message/rfc822" + b).utf8)
        switch originalPart {
        case .identity(let encoding):
            if let encoding { originalBytes += Array(("Content-Transfer-Encoding: \(encoding)" + b).utf8) }
            originalBytes += Array(b.utf8) + original
        case .base64(let lineLength):
            originalBytes += Array(("Content-Transfer-Encoding: base64" + b + b).utf8)
            originalBytes += WrapperRecipe(head: [], encoding: .base64(lineLength: lineLength), tail: []).reconstruct(original: original)
        case .rawBase64(let body):
            originalBytes += Array(("Content-Transfer-Encoding: base64" + b + b).utf8) + body
        }
        var parts: [[UInt8]] = []
        if includeEnvelope { parts.append(envelope) }
        if includeOriginal { if originalFirst { parts.insert(originalBytes, at: 0) } else { parts.append(originalBytes) } }
        for extra in extraParts { parts.append(Array(("--\(boundary)" + b + lines(extra)).utf8)) }
        for (i, part) in parts.enumerated() {
            bytes += part
            if i < parts.count - 1 { bytes += Array(b.utf8) }
        }
        bytes += Array((b + (closeDelimiter ?? "--\(boundary)--") + b + epilogue).utf8)
        return bytes
    }

    /// `report` returned inside a delivery status notification, as an alternate
    /// journaling mailbox's bounce carries it.
    static func dsn(around report: [UInt8], boundary: String = "DSN_b0und", rfc822Encoding: String? = nil,
                    close: Bool = true) -> [UInt8] {
        var out = """
            From: postmaster@corp.example\r
            To: journal@corp.example\r
            Subject: Undeliverable: Quarterly numbers\r
            MIME-Version: 1.0\r
            Content-Type: multipart/report; report-type=delivery-status;\r
            \tboundary="\(boundary)"\r
            \r
            --\(boundary)\r
            Content-Type: text/plain; charset=us-ascii\r
            \r
            Delivery to the alternate journaling mailbox failed.\r
            --\(boundary)\r
            Content-Type: message/delivery-status\r
            \r
            Reporting-MTA: dns; mx.corp.example\r
            \r
            Final-Recipient: rfc822; archive@archive.example\r
            Action: failed\r
            Status: 5.2.2\r
            --\(boundary)\r
            Content-Type: message/rfc822\r

            """
        if let rfc822Encoding { out += "Content-Transfer-Encoding: \(rfc822Encoding)\r\n" }
        out += "\r\n"
        var bytes = Array(out.utf8) + report
        bytes += Array((close ? "\r\n--\(boundary)--\r\n" : "\r\n").utf8)
        return bytes
    }
}
