import Foundation
import JournalReport

/// `archive export --with-envelope`: one `X-Archiverelay-Arrival` header field per arrival,
/// written before the original so an export keeps who sent and received each copy
/// (docs/OPERATIONS.md, "Exporting with the envelope"). The original follows unchanged:
/// removing the leading fields gives it back byte for byte.
///
/// A field is `name=value` parameters joined by `; `. A value is one item or a list of
/// items joined by `, `; an item is written bare when it is printable and holds none of
/// space, `"`, `\`, `;`, `,`, `(`, `)`, else as an RFC 5322 quoted-string (§3.2.4) with
/// `"` and `\` escaped. An address is the item `<address>`. Lines are folded before 78
/// columns at the space after a separator only, so unfolding (§2.2.3) restores the value.
public enum ArrivalHeaderField {
    public static let name = "X-Archiverelay-Arrival"
    static let foldColumn = 78

    /// One parameter: its name and its items (one for a single value).
    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var items: [String]

        public init(_ name: String, _ items: [String]) {
            self.name = name
            self.items = items
        }
    }

    /// The fields of `arrivals`, in order, each line ending with `lineEnding`.
    public static func block(for arrivals: [Arrival], lineEnding: [UInt8]) -> [UInt8] {
        arrivals.flatMap { field(parameters(of: $0), lineEnding: lineEnding) }
    }

    /// What an arrival's field says, in order. Absent: `tls` for a plaintext session,
    /// `node` for records that predate it, and every `report-` parameter the arrival
    /// has no value for (all of them for plain mail).
    public static func parameters(of a: Arrival) -> [Parameter] {
        let e = a.envelope
        var out = [Parameter("id", [a.id]), Parameter("received", [timestamp(e.receivedAt)])]
        if !e.node.isEmpty { out.append(Parameter("node", [e.node])) }
        out += [Parameter("listener", [e.listener]), Parameter("client", [e.clientAddress]), Parameter("helo", [e.helo])]
        if let tls = e.tls { out.append(Parameter("tls", [tls])) }
        out.append(Parameter("from", [angle(e.sender)]))
        if !e.recipients.isEmpty { out.append(Parameter("to", e.recipients.map(angle))) }
        guard let report = a.report else { return out }
        if let sender = report.sender { out.append(Parameter("report-sender", [angle(sender)])) }
        if let onBehalfOf = report.onBehalfOf { out.append(Parameter("report-on-behalf-of", [angle(onBehalfOf)])) }
        for kind in ReportEnvelope.Recipient.Kind.allCases {
            let named = report.recipients.filter { $0.kind == kind }.map { angle($0.address) }
            if !named.isEmpty { out.append(Parameter("report-\(kind.label)", named)) }
        }
        let expanded = report.recipients.compactMap { r in r.expandedFrom.map { angle(r.address) + "=" + angle($0) } }
        if !expanded.isEmpty { out.append(Parameter("report-expanded", expanded)) }
        let forwarded = report.recipients.compactMap { r in r.forwardedFrom.map { angle(r.address) + "=" + angle($0) } }
        if !forwarded.isEmpty { out.append(Parameter("report-forwarded", forwarded)) }
        if report.viaDSN { out.append(Parameter("report-via-dsn", ["yes"])) }
        return out
    }

    /// The field with `parameters`, folded, ending with `lineEnding`.
    public static func field(_ parameters: [Parameter], lineEnding: [UInt8]) -> [UInt8] {
        var tokens: [String] = []
        for (p, parameter) in parameters.enumerated() {
            let items = parameter.items.isEmpty ? [""] : parameter.items
            for (i, value) in items.enumerated() {
                var token = (i == 0 ? parameter.name + "=" : "") + item(value)
                if i < items.count - 1 { token += "," } else if p < parameters.count - 1 { token += ";" }
                tokens.append(token)
            }
        }
        var out = Array((name + ":").utf8)
        var column = out.count
        for token in tokens {
            let bytes = Array(token.utf8)
            if column + 1 + bytes.count > foldColumn && column > name.utf8.count + 1 {
                out += lineEnding
                column = 0
            }
            out.append(0x20)
            out += bytes
            column += 1 + bytes.count
        }
        return out + lineEnding
    }

    /// `value` bare, or as a quoted-string when it holds a separator, a space or a quote.
    /// A control character (which no valid envelope holds; `archive show --json` gives the
    /// exact value) cannot be written in a header field and becomes U+FFFD.
    public static func item(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { !isControl($0) && !unsafe.contains($0) }
        if plain { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { out += "\\" }
            out.unicodeScalars.append(isControl(scalar) ? "\u{FFFD}" : scalar)
        }
        return out + "\""
    }

    /// The line end the original uses (that of its first line), so the export has one
    /// style: CRLF, or LF for a message stored with bare LFs.
    public static func lineEnding(of original: some Collection<UInt8>) -> [UInt8] {
        guard let lf = original.firstIndex(of: 0x0A) else { return [0x0D, 0x0A] }
        guard lf != original.startIndex else { return [0x0A] }
        return original[original.index(lf, offsetBy: -1)] == 0x0D ? [0x0D, 0x0A] : [0x0A]
    }

    private static let unsafe: Set<Unicode.Scalar> = [" ", "\"", "\\", ";", ",", "(", ")"]

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || scalar.value == 0x7F }

    private static func angle(_ address: String) -> String { "<" + address + ">" }

    /// RFC 3339 in UTC with milliseconds, as the CLIs print times.
    private static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

extension ReportEnvelope.Recipient.Kind {
    /// The kind as the CLIs and exports name it: `to`, `cc`, `bcc`, `recipient`.
    public var label: String {
        switch self {
        case .to: "to"
        case .cc: "cc"
        case .bcc: "bcc"
        case .recipient: "recipient"
        }
    }
}
