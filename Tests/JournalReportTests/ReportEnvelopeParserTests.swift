import JournalReport
import Testing

/// The envelope part's grammar, one table row per thing the grammar says.
@Suite struct ReportEnvelopeParserTests {
    typealias R = ReportEnvelope.Recipient

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var text: String
        var format = ReportEnvelope.Format.exchange2007
        var expected: ReportEnvelope?
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "every 2007 field kind", text: ReportFixture.envelopeText, expected: ReportFixture.expectedEnvelope),
        Row(name: "LF line breaks", text: ReportFixture.envelopeText.replacingOccurrences(of: "\r\n", with: "\n"),
            expected: ReportFixture.expectedEnvelope),
        Row(name: "on behalf of, names in any case, Message-ID spelling",
            text: "SENDER: boss@corp.example\r\non-behalf-of: assistant@corp.example\r\nsubject: Hi\r\nMESSAGE-ID: <1@x>\r\nbcc: x@y\r\n",
            expected: ReportEnvelope(format: .exchange2007, sender: "boss@corp.example", onBehalfOf: "assistant@corp.example", subject: "Hi",
                                     messageID: "<1@x>", recipients: [R(address: "x@y", kind: .bcc)])),
        Row(name: "placeholders",
            text: "Sender: Unspecified Address\r\nSubject: \r\nMessage-Id: Unknown Message-ID\r\nRecipient: r@x\r\n",
            expected: ReportEnvelope(format: .exchange2007, sender: nil, subject: "", messageID: nil, recipients: [R(address: "r@x", kind: .recipient)])),
        Row(name: "folded lines",
            text: "Sender: a@x\r\nSubject: a long\r\n subject line\r\nTo: b@x,\r\n\tExpanded: list@x\r\nCc: c@x, Forwarded:\r\n d@x\r\n",
            expected: ReportEnvelope(format: .exchange2007, sender: "a@x", subject: "a long subject line",
                                     recipients: [R(address: "b@x", kind: .to, expandedFrom: "list@x"), R(address: "c@x", kind: .cc, forwardedFrom: "d@x")])),
        Row(name: "suffix names in any case; unknown fields and stray lines skipped",
            text: "Sender: a@x\nX-Unknown: whatever\nno colon here\n\nTo: b@x, EXPANDED: l@x\nRecipient: c@x, forwarded: f@x\n",
            expected: ReportEnvelope(format: .exchange2007, sender: "a@x",
                                     recipients: [R(address: "b@x", kind: .to, expandedFrom: "l@x"), R(address: "c@x", kind: .recipient, forwardedFrom: "f@x")])),
        Row(name: "2003: Recipients with several addresses",
            text: "Sender: a@x\r\nMessage-ID: <2003@x>\r\nRecipients: b@x, c@x,d@x\r\nRecipient: e@x\r\n", format: .exchange2003,
            expected: ReportEnvelope(format: .exchange2003, sender: "a@x", messageID: "<2003@x>",
                                     recipients: ["b@x", "c@x", "d@x", "e@x"].map { R(address: $0, kind: .recipient) })),
        Row(name: "2003: an Expanded item applies to the address before it",
            text: "Sender: a@x\r\nRecipients: b@x, Expanded: l@x, c@x\r\n", format: .exchange2003,
            expected: ReportEnvelope(format: .exchange2003, sender: "a@x",
                                     recipients: [R(address: "b@x", kind: .recipient, expandedFrom: "l@x"), R(address: "c@x", kind: .recipient)])),
        Row(name: "only recipients", text: "To: b@x\r\n", expected: ReportEnvelope(format: .exchange2007, recipients: [R(address: "b@x", kind: .to)])),
        Row(name: "only a sender", text: "Sender: a@x\r\n", expected: ReportEnvelope(format: .exchange2007, sender: "a@x")),
        Row(name: "garbage", text: "Dear customer,\r\nplease find attached\r\n", expected: nil),
        Row(name: "empty", text: "", expected: nil),
        Row(name: "a subject alone", text: "Subject: hello\r\nMessage-Id: <1@x>\r\n", expected: nil),
        Row(name: "binary noise", text: String(decoding: [0, 1, 0xFF, 0x3A, 0x0A, 0x80, 0x3A], as: UTF8.self), expected: nil),
    ]

    @Test(arguments: rows)
    func grammar(row: Row) {
        do {
            let envelope = try ReportEnvelopeParser.parse(row.text, format: row.format)
            #expect(envelope == row.expected)
        } catch {
            #expect(row.expected == nil, "\(error.reason)")
        }
    }

    struct PartRow: CustomTestStringConvertible, Sendable {
        var name: String
        var body: [UInt8]
        var transferEncoding: String?
        var charset: String?
        var subject: String
        var testDescription: String { name }
    }

    static func part(_ subject: [UInt8]) -> [UInt8] {
        Array("Sender: a@x\r\nSubject: ".utf8) + subject + Array("\r\nTo: b@x\r\n".utf8)
    }

    static let partRows: [PartRow] = [
        PartRow(name: "7bit ASCII", body: part(Array("plain".utf8)), subject: "plain"),
        PartRow(name: "quoted-printable ISO-8859-1 with a soft break",
                body: Array("Sender: a@x\r\nSubject: Gr=FC=DFe aus M=\r\n=FCnchen\r\nTo: b@x\r\n".utf8),
                transferEncoding: "quoted-printable", charset: "ISO-8859-1", subject: "Grüße aus München"),
        PartRow(name: "base64 UTF-8", body: Array("U2VuZGVyOiBhQHgNClN1YmplY3Q6IMOpdMOpIOKCrA0KVG86IGJAeA0K".utf8),
                transferEncoding: "base64", charset: "utf-8", subject: "été €"),
        PartRow(name: "8-bit ISO-8859-1 declared", body: part([0x43, 0x61, 0x66, 0xE9]), transferEncoding: "8bit", charset: "iso-8859-1",
                subject: "Café"),
        PartRow(name: "8-bit UTF-8, no charset", body: part(Array("naïve 日本".utf8)), transferEncoding: "8bit", subject: "naïve 日本"),
        PartRow(name: "8-bit Windows-1252, no charset", body: part([0x80, 0x20, 0x93, 0x71, 0x94, 0x20, 0xE9]), transferEncoding: "8bit",
                subject: "€ “q” é"),
        PartRow(name: "Windows-1252 declared, through iconv", body: part([0x80, 0x99]), charset: "windows-1252", subject: "€™"),
        PartRow(name: "KOI8-R declared", body: part([0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]), charset: "koi8-r", subject: "Привет"),
        PartRow(name: "an unknown charset decodes lossily", body: part(Array("ok".utf8) + [0xFF]), charset: "x-no-such-charset",
                subject: "ok\u{FFFD}"),
        PartRow(name: "bytes invalid in the declared charset decode lossily", body: part([0x61, 0xC3]), charset: "utf-8", subject: "a\u{FFFD}"),
    ]

    @Test(arguments: partRows)
    func partDecoding(row: PartRow) throws {
        let envelope = try ReportEnvelopeParser.parse(partBody: row.body, transferEncoding: row.transferEncoding, charset: row.charset,
                                                      format: .exchange2007)
        #expect(envelope.subject == row.subject)
        #expect(envelope.sender == "a@x")
        #expect(envelope.recipients == [R(address: "b@x", kind: .to)])
    }
}
