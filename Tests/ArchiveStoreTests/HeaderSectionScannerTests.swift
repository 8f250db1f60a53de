import Testing
@testable import ArchiveStore

/// `HeaderSectionScanner.fields()` works on octets and builds strings for Message-ID and
/// Subject only. The reference below is the straightforward version it replaced (every
/// field unfolded into strings, names lowercased): both must agree on real mail and on
/// the folding corner cases, however the message is split into chunks.
struct HeaderSectionScannerTests {
    static func reference(_ header: [UInt8]) -> (messageID: String?, subject: String?) {
        let text = String(decoding: header, as: UTF8.self)
        var fields: [(String, String)] = []
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if let first = line.first, first == " " || first == "\t" {
                if let last = fields.popLast() {
                    let continuation = line.trimmingWhitespace()
                    fields.append((last.0, last.1.isEmpty ? continuation : last.1 + " " + continuation))
                }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields.append((String(line[..<colon]).trimmingWhitespace(), String(line[line.index(after: colon)...]).trimmingWhitespace()))
        }
        let messageID = fields.first { $0.0.lowercased() == "message-id" }?.1
        let subject = fields.first { $0.0.lowercased() == "subject" }?.1
        return (messageID, subject)
    }

    static func scan(_ message: [UInt8], chunk: Int) -> (messageID: String?, subject: String?) {
        var scanner = HeaderSectionScanner(limit: MessageDraft.headerScanLimit)
        var start = 0
        while start < message.count {
            let end = min(start + chunk, message.count)
            message[start..<end].withUnsafeBytes { scanner.feed($0) }
            start = end
        }
        return scanner.fields()
    }

    static func headerSection(_ message: [UInt8]) -> [UInt8] {
        var i = 0
        while i + 1 < message.count {
            if message[i] == 0x0A && message[i + 1] == 0x0A { return Array(message[..<i]) }
            if i + 3 < message.count, message[i...].starts(with: [0x0D, 0x0A, 0x0D, 0x0A]) { return Array(message[..<i]) }
            i += 1
        }
        return Array(message.prefix(MessageDraft.headerScanLimit))
    }

    static let cases: [String] = [
        "Message-ID:\r\n <abc@example.test>\r\nSubject: hello\r\n  world\r\n\r\nSubject: body\r\n",
        "SUBJECT:first\nsubject: second\nMESSAGE-id: <x>\n\n",
        "Subject: a\r\nnot a field\r\n\tstill the subject\r\nX-Other: y\r\n continuation of X-Other\r\n\r\n",
        "Subject:\r\n\r\n",
        "Subject \t: spaced name\r\nMessage-ID : <y> \t\r\n\r\n",
        "X: 1\r\n\tfold\r\nSubject:\t caf\u{E9} \u{1F600} \r\n\r\n",
        "Subject: bad \u{FFFD} utf8\r\n\r\n",
        "Subject: no blank line at all\r\n",
        " leading continuation\r\nSubject: s\r\n\r\n",
        "Message-ID: <a>\r\nMessage-ID: <b>\r\n\r\n",
        "Subject: cr\r\r\nMessage-ID: <z>\r\r\n\r\n",
    ]

    @Test(arguments: cases)
    func agreesWithTheReferenceOnCornerCases(text: String) {
        let message = Array(text.utf8)
        let expected = Self.reference(Self.headerSection(message))
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let got = Self.scan(message, chunk: chunk)
            #expect(got.messageID == expected.messageID && got.subject == expected.subject, "chunk \(chunk): \(got) != \(expected)")
        }
    }

    @Test func agreesWithTheReferenceOnTheCorpus() {
        #expect(Corpus.messages.count > 0)
        for message in Corpus.messages {
            let expected = Self.reference(Self.headerSection(message))
            for chunk in [5, 1000, 1 << 20] {
                let got = Self.scan(message, chunk: chunk)
                #expect(got.messageID == expected.messageID && got.subject == expected.subject, "chunk \(chunk): \(got) != \(expected)")
            }
        }
    }

    /// Invalid UTF-8 in a value is replaced, as before.
    @Test func invalidUTF8IsReplaced() {
        let message: [UInt8] = Array("Subject: a".utf8) + [0xFF, 0xC3] + Array("b\r\n\r\n".utf8)
        #expect(Self.scan(message, chunk: 3).subject == "a\u{FFFD}\u{FFFD}b")
        #expect(Self.reference(Self.headerSection(message)).subject == "a\u{FFFD}\u{FFFD}b")
    }
}
