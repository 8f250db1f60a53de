/// The trace a forwarded copy carries as its very first header field:
///
///     X-Archiverelay-Trace: hops=2; path=node-a,node-b; relayed=312
///
/// - `hops`: how many archiverelay nodes forwarded the copy; equals the path's length.
/// - `path`: their ids, oldest first (see `NodeID` for the charset).
/// - `relayed` (omitted when 0): the length in bytes of the header fields that follow this
///   one and were prepended by the nodes of the path (their Received fields). The
///   original message starts after them, so a receiving node that strips this field and
///   those bytes stores exactly what the first node stored.
///
/// Parameters are separated by `;`, white space around them is ignored, unknown
/// parameters are ignored (later versions may add some), the field may be folded
/// (RFC 5322 §2.2.3). The formatter folds after a path comma so no line passes 78 octets.
public struct LoopTrace: Hashable, Sendable, CustomStringConvertible {
    public static let fieldName = "X-Archiverelay-Trace"
    /// A trace field longer than this is not one of ours.
    public static let maximumFieldLength = 8192

    public var path: [NodeID]
    public var relayedHeaderLength: Int

    public init(path: [NodeID], relayedHeaderLength: Int = 0) {
        self.path = path
        self.relayedHeaderLength = relayedHeaderLength
    }

    public var hops: Int { path.count }

    /// The trace this node puts on the copies it forwards: the path with this node added.
    public func forwarded(by node: NodeID, relayedHeaderLength: Int) -> LoopTrace {
        LoopTrace(path: path + [node], relayedHeaderLength: relayedHeaderLength)
    }

    /// The header field, CRLF-terminated, folded so no line passes 78 octets.
    public var headerField: String {
        var lines = ["\(Self.fieldName): hops=\(hops); path="]
        for (index, id) in path.enumerated() {
            let piece = id.value + (index < path.count - 1 ? "," : "")
            if lines[lines.count - 1].utf8.count + piece.utf8.count > 78 && !lines[lines.count - 1].hasSuffix("=") {
                lines.append(" ")
            }
            lines[lines.count - 1] += piece
        }
        if relayedHeaderLength > 0 {
            let piece = "; relayed=\(relayedHeaderLength)"
            if lines[lines.count - 1].utf8.count + piece.utf8.count > 78 {
                lines[lines.count - 1] += ";"
                lines.append(" relayed=\(relayedHeaderLength)")
            } else {
                lines[lines.count - 1] += piece
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    public var headerFieldBytes: [UInt8] { Array(headerField.utf8) }

    public var description: String {
        "hops=\(hops) path=\(path.map(\.value).joined(separator: ","))"
    }
}
