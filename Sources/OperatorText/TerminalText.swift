/// Text for an operator's terminal. Every interpolated value has its control characters
/// made visible, so bytes that came from mail or from a peer (a Subject, a Message-ID, an
/// SMTP reply) cannot move the cursor, retitle the window or write the clipboard (OSC 52):
/// `"\(subject)\n"` keeps its literal newline and escapes the subject's.
///
/// Escaped: C0 (U+0000-U+001F, TAB and LF included: a value never spans columns or lines),
/// DEL as `\x1b`-style, and C1 (U+0080-U+009F, which some terminals take as CSI or OSC)
/// as `\u009b`-style. A backslash is left alone: the form is for reading, `--json` gives
/// the exact value.
public struct TerminalText: ExpressibleByStringInterpolation, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(stringLiteral value: String) { description = value }

    public init(stringInterpolation: Interpolation) { description = stringInterpolation.text }

    /// Text of several lines from elsewhere (a body an admin endpoint answered): each line
    /// escaped, the line breaks kept.
    public init(lines text: String) {
        description = text.split(separator: "\n", omittingEmptySubsequences: false).map { Self.escape(String($0)) }.joined(separator: "\n")
    }

    private init(safe: String) { description = safe }

    public static func + (lhs: TerminalText, rhs: TerminalText) -> TerminalText { TerminalText(safe: lhs.description + rhs.description) }

    public static func += (lhs: inout TerminalText, rhs: TerminalText) { lhs = lhs + rhs }

    public struct Interpolation: StringInterpolationProtocol {
        fileprivate var text = ""

        public init(literalCapacity: Int, interpolationCount: Int) { text.reserveCapacity(literalCapacity + 16 * interpolationCount) }

        /// The program's own text, trusted: its newlines stay newlines.
        public mutating func appendLiteral(_ literal: String) { text += literal }

        public mutating func appendInterpolation(_ value: some CustomStringConvertible) {
            text += TerminalText.escape(value.description)
        }

        /// Already made safe (a line built from a `TerminalText` of its own).
        public mutating func appendInterpolation(_ value: TerminalText) { text += value.description }
    }

    /// `text` with every control character written out as an escape.
    public static func escape(_ text: String) -> String {
        replacingControls(text) { $0 < 0x80 ? "\\x" + hex($0, digits: 2) : "\\u" + hex($0, digits: 4) }
    }

    /// A line of JSON made safe for a terminal and still the same JSON: the characters a
    /// JSON encoder leaves raw (DEL and C1; it escapes C0 itself) written as `\u` escapes,
    /// which decode to the same value. They can only occur inside JSON strings.
    public static func escapeJSON(_ json: String) -> String {
        replacingControls(json) { "\\u" + hex($0, digits: 4) }
    }

    private static func replacingControls(_ text: String, with escape: (UInt32) -> String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if isControl(scalar) { out += escape(scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
