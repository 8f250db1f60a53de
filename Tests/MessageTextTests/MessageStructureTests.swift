import Foundation
@testable import MessageText
import Testing

/// Whole messages: which header fields, which parts' text, which names come out.
@Suite struct MessageStructureTests {
    static func extract(_ text: String, limits: MessageTextLimits = .standard) -> MessageText {
        MessageTextExtractor.extract(Array(text.utf8), limits: limits)
    }

    @Test func topLevelFields() {
        let t = Self.extract("""
            From: =?utf-8?q?J=C3=B6rg?= <jorg@example.com>\r
            Sender: list@example.com\r
            To: a@example.com,\r
             b@example.com\r
            Cc: c@example.com\r
            Bcc: d@example.com\r
            Subject: =?utf-8?q?Quarterly?=\r
             =?utf-8?q?_report?= for Q1\r
            Message-ID: <abc.123@example.com>\r
            Date: Tue, 05 Mar 2024 14:30:15 +0000\r
            \r
            Hello there.\r

            """)
        #expect(t.from == ["Jörg <jorg@example.com>", "list@example.com"])
        #expect(t.to == ["a@example.com, b@example.com"])
        #expect(t.cc == ["c@example.com"])
        #expect(t.bcc == ["d@example.com"])
        #expect(t.subject == "Quarterly report for Q1")
        #expect(t.messageID == "abc.123@example.com")
        #expect(t.date == Date(timeIntervalSince1970: 1_709_649_015))
        #expect(t.body == "Hello there.")
        #expect(!t.hasAttachment && !t.truncated)
    }

    static let mixed = """
        Subject: parts\r
        Content-Type: multipart/mixed; boundary="outer"\r
        \r
        preamble words are ignored\r
        --outer\r
        Content-Type: multipart/alternative; boundary=inner\r
        \r
        --inner\r
        Content-Type: text/plain; charset=iso-8859-1\r
        Content-Transfer-Encoding: quoted-printable\r
        \r
        caf=E9 plain=\r
        text\r
        --inner\r
        Content-Type: text/html; charset=utf-8\r
        Content-Transfer-Encoding: base64\r
        \r
        \(Data("<p>html&amp;part</p><script>hidden()</script><p>two</p>".utf8).base64EncodedString())\r
        --inner--\r
        inner epilogue ignored\r
        --outer  \r
        Content-Type: application/pdf; name="=?utf-8?q?r=C3=A9sum=C3=A9.pdf?="\r
        Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rates.pdf\r
        Content-Transfer-Encoding: base64\r
        \r
        JVBERi0xLjQK\r
        --outer\r
        Content-Type: text/csv\r
        Content-Disposition: attachment\r
        \r
        a,b,csvcell\r
        --outer--\r
        epilogue ignored\r

        """

    /// Bytes with NUL under a text label (or none) are binary data: no text, however large;
    /// UTF-16 text, which has NULs, keeps its words, and so do the message's other parts.
    @Test func binaryBytesUnderATextLabelGiveNoText() {
        var junk: [UInt8] = []
        var seed: UInt64 = 25
        for _ in 0..<200_000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            junk.append(UInt8(truncatingIfNeeded: seed >> 33))
        }
        let untyped = MessageTextExtractor.extract(Array("Subject: blob\r\n\r\n".utf8) + junk)
        #expect(untyped.subject == "blob")
        #expect(untyped.body.isEmpty)

        let utf16 = Array("hello wörld".utf16).flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        let mixed = Array("""
            Content-Type: multipart/mixed; boundary=b\r
            \r
            --b\r
            Content-Type: text/plain\r
            \r

            """.utf8) + junk.prefix(5000) + Array("""
            \r
            --b\r
            Content-Type: text/plain; charset=utf-16be\r
            Content-Transfer-Encoding: base64\r
            \r
            \(Data(utf16).base64EncodedString())\r
            --b\r
            Content-Type: text/plain\r
            \r
            plain words here\r
            --b--\r

            """.utf8)
        let t = MessageTextExtractor.extract(mixed)
        #expect(t.body.contains("hello wörld"))
        #expect(t.body.contains("plain words here"))
        #expect(t.body.utf8.count < 100, "the binary part gave text: \(t.body.utf8.count) bytes")
    }

    @Test func nestedMultiparts() {
        let t = Self.extract(Self.mixed)
        #expect(t.body == "café plaintext\n\nhtml&part\n\ntwo\n\na,b,csvcell")
        #expect(t.attachmentNames == ["€ rates.pdf"])
        #expect(t.attachmentTypes == ["application/pdf", "text/csv"])
        #expect(t.hasAttachment)
        #expect(!t.truncated)
    }

    @Test func forwardedMessages() {
        let t = Self.extract("""
            Subject: outer\r
            Content-Type: multipart/mixed; boundary=b1\r
            \r
            --b1\r
            \r
            outer text\r
            --b1\r
            Content-Type: message/rfc822\r
            \r
            From: Inner Sender <inner@example.com>\r
            To: inner-to@example.com\r
            Cc: inner-cc@example.com\r
            Subject: =?utf-8?q?inner_subj=C3=A9ct?=\r
            Content-Type: multipart/mixed; boundary=b2\r
            \r
            --b2\r
            Content-Type: message/global\r
            \r
            From: deepest@example.com\r
            Subject: deepest\r
            \r
            deepest text\r
            --b2\r
            Content-Type: text/plain\r
            \r
            inner text\r
            --b2--\r
            --b1--\r

            """)
        #expect(t.subject == "outer")
        #expect(t.body == """
            outer text
            Inner Sender <inner@example.com>
            inner-to@example.com
            inner-cc@example.com
            inner subjéct
            deepest@example.com
            deepest
            deepest text
            inner text
            """)
    }

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var message: String
        var body: String
        var names: [String] = []
        var hasAttachment = false
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "no header section at all", message: "just text\n", body: "just text"),
        Row(name: "LF line ends", message: "Subject: x\n\nline one\nline two\n", body: "line one\nline two"),
        Row(name: "mbox From line", message: "From someone Tue Mar 5 2024\nSubject: x\n\nbody\n", body: "body"),
        Row(name: "a line that is no field starts the body", message: "Subject: x\nthis is body\nmore\n", body: "this is body\nmore"),
        Row(name: "missing close delimiter", message: "Content-Type: multipart/mixed; boundary=z\n\n--z\n\nfirst\n--z\n\nsecond\n",
            body: "first\nsecond"),
        Row(name: "a longer line is no delimiter", message: "Content-Type: multipart/mixed; boundary=z\n\n--z\n\n--zz not\n--z--\n",
            body: "--zz not"),
        Row(name: "multipart without boundary is text", message: "Content-Type: multipart/mixed\n\nloose\n", body: "loose"),
        Row(name: "invalid content type is text/plain", message: "Content-Type: garbage\n\nstill text\n", body: "still text"),
        Row(name: "non-text leaf skipped", message: "Content-Type: image/png\n\nnot text\n", body: ""),
        Row(name: "digest parts are messages",
            message: "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: in digest\n\ndigest body\n--d--\n",
            body: "in digest\ndigest body"),
        Row(name: "outer boundary closes inner multipart",
            message: "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\n\nin\n--o\n\nafter\n--o--\n",
            body: "in\nafter"),
        Row(name: "part header cut by a boundary",
            message: "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: text/plain\n--o\n\nnext\n--o--\n", body: "next"),
        Row(name: "unknown transfer encoding as is", message: "Content-Transfer-Encoding: x-weird\n\nraw=41\n", body: "raw=41"),
        Row(name: "top-level attachment", message: "Content-Type: application/pdf\nContent-Disposition: attachment; filename=a.pdf\n\nJVBE\n",
            body: "", names: ["a.pdf"], hasAttachment: true),
        Row(name: "attachment disposition without a name",
            message: "Content-Type: application/zip\nContent-Disposition: attachment\n\nUEs=\n", body: "", hasAttachment: true),
        Row(name: "text attachment keeps its text",
            message: "Content-Type: text/plain; name=\"notes.txt\"\nContent-Disposition: attachment\n\nnotes text\n",
            body: "notes text", names: ["notes.txt"], hasAttachment: true),
        Row(name: "undeclared 8-bit Windows-1252 body", message: "Subject: x\n\ncaf\u{E9}\n", body: "café"),
    ]

    @Test(arguments: rows)
    func structure(row: Row) {
        var bytes = Array(row.message.utf8)
        if row.name == "undeclared 8-bit Windows-1252 body" { bytes = Array("Subject: x\n\ncaf".utf8) + [0xE9, 0x0A] }
        let t = MessageTextExtractor.extract(bytes)
        #expect(t.body == row.body)
        #expect(t.attachmentNames == row.names)
        #expect(t.hasAttachment == row.hasAttachment)
        #expect(!t.truncated)
    }
}
