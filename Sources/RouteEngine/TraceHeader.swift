/// The header a node puts at the very top of every copy it forwards:
///
///     X-Archiverelay-Trace: hops=2; path=node-a,node-b
///
/// `path` lists, oldest first, the ids of the nodes the copy has passed; `hops` is its
/// length (kept separately so a truncated path still counts). Node ids are 1–64 of
/// `A-Z a-z 0-9 . _ -`. The receiving node strips the header before archiving (so every
/// node stores the same original), but only on a listener with `trust_trace`: anywhere
/// else it is content the client sent, kept, and ignored for loop decisions.
public struct TraceHeader: Hashable, Sendable, CustomStringConvertible {
    public static let fieldName = "X-Archiverelay-Trace"
    public var hops: Int
    public var path: [String]

    public init(hops: Int, path: [String]) {
        self.hops = hops
        self.path = path
    }

    public static func isValidNodeID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x2D
        }
    }

    /// The header line, CRLF-terminated, as it is prepended to a forwarded copy.
    public var line: String { "\(Self.fieldName): hops=\(hops); path=\(path.joined(separator: ","))\r\n" }
    public var description: String { "hops=\(hops) path=\(path.joined(separator: ","))" }

    /// Finds a trace header that is the first field of `message` (its leading bytes; the
    /// header may be folded). Returns it with the number of bytes it occupies, including
    /// its final CRLF; nil when the message does not start with a well-formed one, or when
    /// `message` ends before the header does (pass more bytes).
    public static func leading(in message: some Collection<UInt8>) -> (TraceHeader, length: Int)? {
        let bytes = Array(message.prefix(4096))
        let name = Array((fieldName + ":").utf8)
        guard bytes.count > name.count, zip(bytes, name).allSatisfy({ lower($0) == lower($1) }) else { return nil }
        // The field ends at a CRLF not followed by SP or HTAB (RFC 5322 folding).
        var end = name.count
        var value: [UInt8] = []
        while true {
            guard let cr = bytes[end...].firstIndex(of: 13), cr + 2 < bytes.count, bytes[cr + 1] == 10 else { return nil }
            value += bytes[end..<cr]
            end = cr + 2
            if bytes[end] != 32 && bytes[end] != 9 { break }
        }
        guard let trace = parse(value: String(decoding: value, as: UTF8.self)) else { return nil }
        return (trace, end)
    }

    /// Parses the field value `hops=N; path=a,b`.
    static func parse(value: String) -> TraceHeader? {
        var hops: Int?
        var path: [String]?
        for part in value.split(separator: ";") {
            let item = part.trimmingCharacters(in: [" ", "\t"])
            if item.hasPrefix("hops="), let n = Int(item.dropFirst(5)), n >= 0, n < 1000 {
                hops = n
            } else if item.hasPrefix("path=") {
                let ids = item.dropFirst(5).split(separator: ",").map { $0.trimmingCharacters(in: [" ", "\t"]) }
                guard ids.allSatisfy(isValidNodeID) else { return nil }
                path = ids
            } else {
                return nil
            }
        }
        guard let hops, let path, hops >= path.count else { return nil }
        return TraceHeader(hops: hops, path: path)
    }

    private static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 32 : b }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        String(self.drop(while: set.contains).reversed().drop(while: set.contains).reversed())
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String { String(self).trimmingCharacters(in: set) }
}
