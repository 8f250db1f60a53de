import DurableFiles

/// What the leading bytes of a message say about a trace header.
public enum LoopTraceScan: Hashable, Sendable {
    /// The first header field is not `X-Archiverelay-Trace`.
    case absent
    /// The bytes end before the first field does (or before it is clear whether it is a
    /// trace field): call again with more.
    case needsMoreBytes
    /// A well-formed trace; `fieldLength` counts the field's bytes with its final CRLF.
    case found(LoopTrace, fieldLength: Int)
    /// The first field is named `X-Archiverelay-Trace` but cannot be read.
    case malformed(String)

    /// How many leading bytes a node strips before archiving: the trace field and the
    /// header fields the path's nodes prepended, but only from a listener that trusts
    /// traces; from anyone else the bytes are content the client sent and are kept.
    public func strippedLength(trusted: Bool) -> Int {
        guard trusted, case .found(let trace, let fieldLength) = self else { return 0 }
        return fieldLength + trace.relayedHeaderLength
    }
}

/// Reads a trace field at the very top of a message (see `LoopTrace` for the syntax).
public enum LoopTraceParser {
    public static func scan(_ message: some Collection<UInt8>) -> LoopTraceScan {
        let name = Array((LoopTrace.fieldName + ":").utf8)
        var iterator = message.makeIterator()
        for expected in name {
            guard let byte = iterator.next() else { return .needsMoreBytes }
            guard lowercased(byte) == lowercased(expected) else { return .absent }
        }
        // The field ends at a CRLF not followed by SP or HTAB (RFC 5322 §2.2.3).
        var value: [UInt8] = []
        var length = name.count
        var pendingCRLF = false
        while let byte = iterator.next() {
            length += 1
            if length > LoopTrace.maximumFieldLength { return .malformed("longer than \(LoopTrace.maximumFieldLength) bytes") }
            if pendingCRLF {
                guard byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") else {
                    return parseValue(value, fieldLength: length - 1)
                }
                pendingCRLF = false
                value.append(byte)
            } else if byte == UInt8(ascii: "\r") {
                guard let next = iterator.next() else { return .needsMoreBytes }
                length += 1
                guard next == UInt8(ascii: "\n") else { return .malformed("bare CR") }
                pendingCRLF = true
            } else if byte == UInt8(ascii: "\n") {
                return .malformed("bare LF")
            } else {
                value.append(byte)
            }
        }
        return .needsMoreBytes
    }

    static func parseValue(_ value: [UInt8], fieldLength: Int) -> LoopTraceScan {
        guard let text = String(validatingUTF8CString: value) else { return .malformed("not UTF-8") }
        var parameters: [String: Substring] = [:]
        for item in text.split(separator: ";", omittingEmptySubsequences: false) {
            let trimmed = item.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else { return .malformed("parameter \"\(trimmed)\" has no =") }
            let key = trimmed[..<equals].trimmingWhitespace().lowercased()
            guard parameters[key] == nil else { return .malformed("\(key) given twice") }
            parameters[key] = trimmed[trimmed.index(after: equals)...].trimmingWhitespace()
        }
        guard let hopsText = parameters["hops"], let hops = Int(hopsText), hops >= 1 else {
            return .malformed("hops must be a number of at least 1")
        }
        guard let pathText = parameters["path"] else { return .malformed("no path") }
        var path: [NodeID] = []
        for item in pathText.split(separator: ",", omittingEmptySubsequences: false) {
            guard let id = NodeID(item.trimmingWhitespace()) else { return .malformed("bad node id \"\(item)\" in path") }
            path.append(id)
        }
        guard path.count == hops else { return .malformed("hops=\(hops) but the path names \(path.count) nodes") }
        var relayed = 0
        if let relayedText = parameters["relayed"] {
            guard let n = Int(relayedText), n >= 0 else { return .malformed("relayed must be a byte count") }
            relayed = n
        }
        var trace = LoopTrace(path: path, relayedHeaderLength: relayed)
        do {
            trace.originalDigest = try hexParameter(parameters, "sha256", byteCount: TraceKey.digestLength)
            trace.authenticationCode = try hexParameter(parameters, "mac", byteCount: TraceKey.codeLength)
        } catch {
            return .malformed(error.reason)
        }
        return .found(trace, fieldLength: fieldLength)
    }

    private struct BadParameter: Error {
        var reason: String
    }

    /// The bytes of a hex parameter of exactly `byteCount` bytes; nil when it is absent.
    private static func hexParameter(_ parameters: [String: Substring], _ key: String, byteCount: Int) throws(BadParameter) -> [UInt8]? {
        guard let text = parameters[key] else { return nil }
        guard let bytes = Hex.decode(text), bytes.count == byteCount else {
            throw BadParameter(reason: "\(key) must be \(2 * byteCount) hex digits")
        }
        return bytes
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}

extension String {
    /// Nil unless `bytes` are valid UTF-8 without NUL.
    init?(validatingUTF8CString bytes: [UInt8]) {
        guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else { return nil }
        self = text
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        let s = Substring(self)
        guard let first = s.firstIndex(where: { $0 != " " && $0 != "\t" }),
              let last = s.lastIndex(where: { $0 != " " && $0 != "\t" }) else { return s[s.endIndex...] }
        return s[first...last]
    }
}
