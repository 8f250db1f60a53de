import HTTPTypes
import NIOCore

/// Which requests the admin endpoint serves at all, before any token is looked at.
///
/// Aimed at the two ways a browser reaches a loopback service for an attacker: a page
/// that sends a request to it (cross-site request forgery), and a page whose own host name
/// the attacker re-points at 127.0.0.1 (DNS rebinding), which can then read the answers.
/// - A request with an `Origin` header, or a `Sec-Fetch-Site` other than `none`, came from
///   a web page: refused. Prometheus, curl and the CLI send neither.
/// - The `Host` must be an IP address, a loopback name (`localhost`, `*.localhost`) or a
///   name the configuration allows (`admin_hosts`): a rebound name is none of these.
/// Changes also need a bearer token (`AdminTokenSet`) and POST, which a page cannot send
/// with a custom `Authorization` header without a CORS preflight the endpoint never grants.
public struct AdminAccessPolicy: Sendable {
    /// Lowercased host names (without port) accepted besides IP addresses and loopback names.
    public var allowedHostNames: Set<String>

    public init(allowedHostNames: some Sequence<String> = []) {
        self.allowedHostNames = Set(allowedHostNames.map { $0.lowercased() })
    }

    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let host = HTTPField.Name("Host")!

    /// Nil when the request may be served, else the refusal to send. HTTP/1's first `Host`
    /// is the request's authority; a second one stays among the header fields.
    public func refusal(for request: HTTPRequest) -> AdminRefusal? {
        if request.headerFields[.origin] != nil { return .crossOrigin }
        if let site = request.headerFields[Self.secFetchSite], site.lowercased() != "none" { return .crossOrigin }
        guard request.headerFields[Self.host] == nil, let host = request.authority else { return .badHost }
        return isAllowed(host: host) ? nil : .hostNotAllowed
    }

    /// The host part of a `Host` value (`name`, `name:port`, `[v6]`, `[v6]:port`).
    func isAllowed(host value: String) -> Bool {
        var host = Substring(value.lowercased())
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isASCIIDigit)) else { return false }
            return (try? SocketAddress(ipAddress: String(host[host.index(after: host.startIndex)..<close]), port: 0)) != nil
        }
        if let colon = host.lastIndex(of: ":") {
            guard host[host.index(after: colon)...].allSatisfy(\.isASCIIDigit) else { return false }
            host = host[..<colon]
        }
        if host.isEmpty { return false }
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        if (try? SocketAddress(ipAddress: String(host), port: 0)) != nil { return true }
        return allowedHostNames.contains(String(host))
    }
}

/// A request refused before authentication, with its status and the line that explains it.
public enum AdminRefusal: String, Sendable, CaseIterable {
    case crossOrigin = "origin"
    case badHost = "bad_host"
    case hostNotAllowed = "host"

    public var status: HTTPResponse.Status {
        switch self {
        case .badHost: .badRequest
        case .crossOrigin, .hostNotAllowed: .forbidden
        }
    }

    public var message: String {
        switch self {
        case .crossOrigin: "requests from web pages (Origin or Sec-Fetch-Site) are refused"
        case .badHost: "exactly one Host header is required"
        case .hostNotAllowed: "Host is not this endpoint: use an IP address or localhost, or list the name in admin_hosts"
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
