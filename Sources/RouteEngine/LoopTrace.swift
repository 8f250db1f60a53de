import DurableFiles

/// The trace a forwarded copy carries as its very first header field (folded here):
///
///     X-Archiverelay-Trace: hops=2; path=node-a,node-b; relayed=312;
///      sha256=<64 hex digits>; mac=<64 hex digits>
///
/// - `hops`: how many archiverelay nodes forwarded the copy; equals the path's length.
/// - `path`: their ids, oldest first (see `NodeID` for the charset).
/// - `relayed` (omitted when 0): the length in bytes of the header fields that follow this
///   one and were prepended by the nodes of the path (their Received fields). The
///   original message starts after them, so a receiving node that strips this field and
///   those bytes stores exactly what the first node stored.
/// - `sha256`: the SHA-256 of that original (what the writing node archived).
/// - `mac`: HMAC-SHA256 with the writing node's `TraceKey` over the other parameters and
///   the relayed fields; only a trace whose mac verifies counts as one the chain wrote.
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
    /// `sha256`: the digest of the original this trace travels with; nil when not given.
    public var originalDigest: [UInt8]?
    /// `mac`: set by `TraceKey.sign`; nil on an unsigned trace.
    public var authenticationCode: [UInt8]?

    public init(path: [NodeID], relayedHeaderLength: Int = 0, originalDigest: [UInt8]? = nil, authenticationCode: [UInt8]? = nil) {
        self.path = path
        self.relayedHeaderLength = relayedHeaderLength
        self.originalDigest = originalDigest
        self.authenticationCode = authenticationCode
    }

    public var hops: Int { path.count }

    /// The trace this node puts on the copies it forwards: the path with this node added,
    /// unsigned (`TraceKey.sign` adds the digest and the mac once the original is known).
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
        for parameter in trailingParameters {
            if lines[lines.count - 1].utf8.count + parameter.utf8.count + 2 > 78 {
                lines[lines.count - 1] += ";"
                lines.append(" " + parameter)
            } else {
                lines[lines.count - 1] += "; " + parameter
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The parameters after the path, as written.
    private var trailingParameters: [String] {
        var parameters: [String] = []
        if relayedHeaderLength > 0 { parameters.append("relayed=\(relayedHeaderLength)") }
        if let originalDigest { parameters.append("sha256=" + Hex.encode(originalDigest)) }
        if let authenticationCode { parameters.append("mac=" + Hex.encode(authenticationCode)) }
        return parameters
    }

    public var headerFieldBytes: [UInt8] { Array(headerField.utf8) }

    public var description: String {
        "hops=\(hops) path=\(path.map(\.value).joined(separator: ","))"
    }
}
