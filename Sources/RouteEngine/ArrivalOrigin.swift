import Foundation

/// Where an arrival entered the chain, carried to the peers in a header field among the
/// relayed fields of its copies, so every node records the same arrival (same id, time,
/// node and session: docs/ARCHITECTURE.md, "Originals and arrivals"):
///
///     X-Archiverelay-Arrival: id=01JE…; node=node-a; received=1765096512123;
///      listener=journal; client=192.0.2.7; helo=mx1.example; tls=TLSv1.3
///
/// It sits among the relayed fields the trace's `mac` covers, so only a copy whose trace
/// the receiving node verifies is believed; a node that finds none is the arrival's first.
/// Values are percent-encoded outside `A-Z a-z 0-9 . _ : - [ ]`; `tls` is absent for a
/// plaintext session; unknown parameters are ignored.
public struct ArrivalOrigin: Hashable, Sendable {
    public static let fieldName = "X-Archiverelay-Arrival"

    public var id: String
    public var node: String
    public var receivedAt: Date
    public var listener: String
    public var client: String
    public var helo: String
    public var tls: String?

    public init(id: String, node: String, receivedAt: Date, listener: String, client: String, helo: String, tls: String?) {
        self.id = id
        self.node = node
        self.receivedAt = receivedAt
        self.listener = listener
        self.client = client
        self.helo = helo
        self.tls = tls
    }

    /// The header field, CRLF-terminated, folded between parameters so lines stay short.
    public var headerField: String {
        var parameters = [
            "id=" + Self.encode(id), "node=" + Self.encode(node),
            "received=\(Int64((receivedAt.timeIntervalSince1970 * 1000).rounded()))",
            "listener=" + Self.encode(listener), "client=" + Self.encode(client), "helo=" + Self.encode(helo),
        ]
        if let tls { parameters.append("tls=" + Self.encode(tls)) }
        var lines = ["\(Self.fieldName):"]
        for (index, parameter) in parameters.enumerated() {
            let piece = " " + parameter + (index < parameters.count - 1 ? ";" : "")
            if lines[lines.count - 1].utf8.count + piece.utf8.count > 78 && lines[lines.count - 1] != "\(Self.fieldName):" {
                lines.append(piece)
            } else {
                lines[lines.count - 1] += piece
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The first arrival field among `fields` (header fields, CRLF or LF line ends), or nil
    /// when there is none or it lacks `id`, `node` or `received`.
    public static func find(in fields: some Collection<UInt8>) -> ArrivalOrigin? {
        var unfolded: [String] = []
        for bytes in Array(fields).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let line = String(decoding: bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes, as: UTF8.self)
            if let first = line.first, first == " " || first == "\t", !unfolded.isEmpty {
                unfolded[unfolded.count - 1] += line
            } else {
                unfolded.append(line)
            }
        }
        let prefix = fieldName.lowercased() + ":"
        guard let field = unfolded.first(where: { $0.lowercased().hasPrefix(prefix) }) else { return nil }
        var values: [String: String] = [:]
        for parameter in field.dropFirst(prefix.count).split(separator: ";") {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let name = pair[0].trimmingCharacters(in: .whitespaces).lowercased()
            guard values[name] == nil, let value = decode(pair[1].trimmingCharacters(in: .whitespaces)) else { continue }
            values[name] = value
        }
        guard let id = values["id"], !id.isEmpty, let node = values["node"], let millis = values["received"].flatMap({ Int64($0) }) else {
            return nil
        }
        return ArrivalOrigin(id: id, node: node, receivedAt: Date(timeIntervalSince1970: Double(millis) / 1000),
                             listener: values["listener"] ?? "", client: values["client"] ?? "", helo: values["helo"] ?? "",
                             tls: values["tls"])
    }

    private static let plain = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-[]".utf8)

    static func encode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            if plain.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    static func decode(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
