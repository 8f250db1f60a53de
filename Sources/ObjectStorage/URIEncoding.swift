/// SigV4's percent-encoding (RFC 3986 unreserved characters kept, every other UTF-8 byte
/// as `%XX` in upper case). The same text goes on the wire and into the canonical request,
/// so what S3 decodes is what was signed.
enum URIEncoding {
    /// One string, every byte but the unreserved ones encoded ('/' included).
    static func component(_ text: String) -> String {
        encode(text, keepingSlash: false)
    }

    /// A path: each segment encoded once, the slashes kept, nothing normalized (S3 keys
    /// may hold "//", "." and ".." as they are). An empty path is "/".
    static func path(_ path: String) -> String {
        let encoded = encode(path, keepingSlash: true)
        return encoded.hasPrefix("/") ? encoded : "/" + encoded
    }

    /// The query as `name=value` pairs, encoded, sorted by name and then by value.
    static func canonicalQuery(_ parameters: [QueryParameter]) -> String {
        parameters
            .map { QueryParameter(component($0.name), component($0.value)) }
            .sorted { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")
    }

    private static func encode(_ text: String, keepingSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + hexDigits[Int(byte >> 4)] + hexDigits[Int(byte & 0x0F)]
            }
        }
        return out
    }

    private static let hexDigits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
