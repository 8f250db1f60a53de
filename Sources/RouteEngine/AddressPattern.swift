/// A pattern a route matches envelope addresses against (docs/CONFIG.md, `[[route]]`):
///
/// | Pattern | Matches |
/// |---|---|
/// | `*` | every address, the null sender too |
/// | `<>` | the null sender (bounces, reports) only |
/// | `user@example.com` | that address; the domain case-insensitively, the local part exactly (RFC 5321 §2.4), except `postmaster` in any case |
/// | `@example.com` | every address at exactly that domain |
/// | `*.example.com` | every address at a subdomain of example.com, not example.com itself |
public enum AddressPattern: Hashable, Sendable, CustomStringConvertible {
    case any
    case nullSender
    case address(localPart: String, domain: String)
    case domain(String)
    case subdomains(of: String)

    /// Parses a pattern as written in the configuration; nil (with no guess) when it is
    /// none of the forms above.
    public init?(_ text: String) {
        switch text {
        case "*": self = .any
        case "<>": self = .nullSender
        default:
            if text.hasPrefix("*.") {
                let domain = String(text.dropFirst(2))
                guard Self.isDomain(domain) else { return nil }
                self = .subdomains(of: domain.lowercased())
            } else if text.hasPrefix("@") {
                let domain = String(text.dropFirst())
                guard Self.isDomain(domain) else { return nil }
                self = .domain(domain.lowercased())
            } else if let at = text.lastIndex(of: "@") {
                let local = String(text[..<at]), domain = String(text[text.index(after: at)...])
                guard !local.isEmpty, !local.contains(where: { $0 == " " || $0 == "<" || $0 == ">" }), Self.isDomain(domain) else { return nil }
                self = .address(localPart: local, domain: domain.lowercased())
            } else {
                return nil
            }
        }
    }

    private static func isDomain(_ text: String) -> Bool {
        !text.isEmpty && !text.hasPrefix(".") && !text.hasSuffix(".") && !text.contains("..")
            && text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
    }

    /// Whether `address` (`local@domain`, or "" for the null sender) matches.
    public func matches(_ address: String) -> Bool {
        guard let at = address.lastIndex(of: "@") else {
            // The null sender, or the bare `postmaster` recipient of RFC 5321 §4.5.1.
            switch self {
            case .any: return true
            case .nullSender: return address.isEmpty
            case .address(let local, _): return !address.isEmpty && local.lowercased() == "postmaster" && address.lowercased() == "postmaster"
            default: return false
            }
        }
        let local = address[..<at], domain = address[address.index(after: at)...].lowercased()
        switch self {
        case .any: return true
        case .nullSender: return false
        case .domain(let d): return domain == d
        case .subdomains(let d): return domain.hasSuffix("." + d)
        case .address(let l, let d):
            guard domain == d else { return false }
            return l.lowercased() == "postmaster" ? local.lowercased() == "postmaster" : local == l
        }
    }

    public var description: String {
        switch self {
        case .any: return "*"
        case .nullSender: return "<>"
        case .address(let l, let d): return "\(l)@\(d)"
        case .domain(let d): return "@\(d)"
        case .subdomains(let d): return "*.\(d)"
        }
    }
}
