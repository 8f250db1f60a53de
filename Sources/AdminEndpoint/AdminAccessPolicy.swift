import NIOCore
import NIOHTTP1

/// Which requests the admin endpoint serves, until it has authentication (issue 26).
///
/// Aimed at the two ways a browser reaches a loopback service for an attacker: a page
/// that posts a form to it (cross-site request forgery), and a page whose own host name
/// the attacker re-points at 127.0.0.1 (DNS rebinding), which can then read the answers.
/// - A request with an `Origin` header, or a `Sec-Fetch-Site` other than `none`, came from
///   a web page: refused. Prometheus, curl and the CLI send neither.
/// - The `Host` must be an IP address, a loopback name (`localhost`, `*.localhost`) or a
///   name the configuration allows (`admin_hosts`): a rebound name is none of these.
/// - A state change (any method but GET and HEAD) needs the `X-Archiverelay-Admin`
///   header, which the CLI sends. A page cannot add a custom header without a CORS
///   preflight, and the endpoint never grants one.
public struct AdminAccessPolicy: Sendable {
    /// The header a state-changing request must carry (any non-empty value).
    public static let changeHeader = "X-Archiverelay-Admin"

    /// Lowercased host names (without port) accepted besides IP addresses and loopback names.
    public var allowedHostNames: Set<String>

    public init(allowedHostNames: some Sequence<String> = []) {
        self.allowedHostNames = Set(allowedHostNames.map { $0.lowercased() })
    }

    /// Nil when the request may be served, else the refusal to send.
    public func refusal(for head: HTTPRequestHead) -> AdminRefusal? {
        if head.headers.contains(name: "Origin") { return .crossOrigin }
        if let site = head.headers.first(name: "Sec-Fetch-Site"), site.lowercased() != "none" { return .crossOrigin }
        let hosts = head.headers["Host"]
        if hosts.count > 1 { return .badHost }
        if let host = hosts.first {
            guard isAllowed(host: String(host)) else { return .hostNotAllowed }
        } else if head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1) {
            // RFC 9112 section 3.2: a 1.1 request without Host is answered 400.
            return .badHost
        }
        if head.method != .GET && head.method != .HEAD {
            guard let marker = head.headers.first(name: Self.changeHeader), !marker.isEmpty else { return .changeWithoutHeader }
        }
        return nil
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

/// A request the policy refuses, with its status and the one line that explains it.
public enum AdminRefusal: String, Sendable, CaseIterable {
    case crossOrigin = "origin"
    case badHost = "bad_host"
    case hostNotAllowed = "host"
    case changeWithoutHeader = "change_header"

    public var status: HTTPResponseStatus {
        switch self {
        case .badHost: .badRequest
        case .crossOrigin, .hostNotAllowed, .changeWithoutHeader: .forbidden
        }
    }

    public var message: String {
        switch self {
        case .crossOrigin: "requests from web pages (Origin or Sec-Fetch-Site) are refused\n"
        case .badHost: "exactly one Host header is required\n"
        case .hostNotAllowed: "Host is not this endpoint: use an IP address or localhost, or list the name in admin_hosts\n"
        case .changeWithoutHeader: "a change needs the \(AdminAccessPolicy.changeHeader) header (archiverelay queue sends it)\n"
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
