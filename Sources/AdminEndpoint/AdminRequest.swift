import DurableFiles
import NIOHTTP1

/// One admin request as the routes see it: method, path, query parameters and the client.
///
/// Built from a request head that came off the network, so every spelling of a query must
/// parse or be refused with a reason: `?=`, `?==`, `?&=&` and `?a&=` once crashed the node
/// on an index out of range (issue 22, finding 1).
public struct AdminRequest: Sendable, Equatable {
    public var method: HTTPMethod
    public var path: String
    public var query: [String: String]
    /// `host:port` of the peer, for the log line of a change.
    public var client: String

    /// Parses `uri` (origin form: path, then `?` and `&`-separated `key=value` pairs).
    /// An empty key (`?=x`) is skipped, a key without `=` has the value "", keys and
    /// values are percent-decoded; a key given twice is refused, since the routes act on
    /// one entry id and must not guess which one was meant.
    public init(method: HTTPMethod, uri: String, client: String = "") throws(AdminRequestError) {
        self.method = method
        self.client = client
        let questionMark = uri.firstIndex(of: "?")
        path = String(uri[..<(questionMark ?? uri.endIndex)])
        var query: [String: String] = [:]
        if let questionMark {
            let text = uri[uri.index(after: questionMark)...]
            for pair in text.split(separator: "&") {
                let equals = pair.firstIndex(of: "=")
                let rawKey = pair[..<(equals ?? pair.endIndex)]
                let rawValue = equals.map { pair[pair.index(after: $0)...] } ?? ""
                guard let key = Self.percentDecoded(rawKey), let value = Self.percentDecoded(rawValue) else {
                    throw .malformedQuery(String(pair))
                }
                if key.isEmpty { continue }
                guard query[key] == nil else { throw .repeatedParameter(key) }
                query[key] = value
            }
        }
        self.query = query
    }

    /// `%XX` decoded as UTF-8 (and `+` kept as it is: these are not form posts); nil for
    /// a stray `%` or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(Hex.nibble), let low = iterator.next().flatMap(Hex.nibble) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Why a request's target was refused (400 Bad Request).
public enum AdminRequestError: Error, Equatable, CustomStringConvertible {
    case malformedQuery(String)
    case repeatedParameter(String)

    public var description: String {
        switch self {
        case .malformedQuery(let pair): "malformed query parameter \(pair.debugDescription)"
        case .repeatedParameter(let key): "query parameter \(key.debugDescription) given more than once"
        }
    }
}
