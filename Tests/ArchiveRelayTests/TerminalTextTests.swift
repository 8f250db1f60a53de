import Foundation
import OperatorText
import Testing

/// What the operator tools print: control characters from mail or peers made visible.
struct TerminalTextTests {
    @Test(arguments: [
        ("plain <id@example.test>", "plain <id@example.test>"),
        ("\u{1B}[2J\u{1B}]0;owned\u{07}", "\\x1b[2J\\x1b]0;owned\\x07"),
        ("\u{1B}]52;c;cm0gLXJmIH4=\u{1B}\\", "\\x1b]52;c;cm0gLXJmIH4=\\x1b\\"),
        ("a\tb\r\nc\u{0}", "a\\x09b\\x0d\\x0ac\\x00"),
        ("del\u{7F}", "del\\x7f"),
        ("csi\u{9B}31m next\u{85}line", "csi\\u009b31m next\\u0085line"),
        ("Grüße ✉ \u{A0}", "Grüße ✉ \u{A0}"),
    ])
    func controlsAreEscaped(raw: String, shown: String) {
        #expect(TerminalText.escape(raw) == shown)
        #expect(TerminalText("[\(raw)]\n").description == "[\(shown)]\n", "literals keep their newline")
    }

    @Test func linesKeepTheirBreaks() {
        #expect(TerminalText(lines: "entry 1 held\u{1B}[K\n2 entries\n").description == "entry 1 held\\x1b[K\n2 entries\n")
    }

    /// JSON output stays the same JSON: DEL and C1, which JSON encoders leave raw, become
    /// `\u` escapes that decode to the original characters.
    @Test func jsonKeepsItsValue() throws {
        let subject = "a\u{1B}b\u{7F}c\u{9B}d\u{85}e"
        let json = String(decoding: try JSONSerialization.data(withJSONObject: ["subject": subject]), as: UTF8.self)
        let safe = TerminalText.escapeJSON(json)
        #expect(!safe.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, "\(safe)")
        let decoded = try JSONSerialization.jsonObject(with: Data(safe.utf8)) as? [String: String]
        #expect(decoded?["subject"] == subject)
    }
}
