import AdminEndpoint
import NIOHTTP1
import Testing

/// The access policy as a table (issue 22, finding 2): what a browser page can send, by
/// cross-site form or DNS rebinding, is refused; what Prometheus, curl and the CLI send is
/// served.
@Suite struct AdminAccessPolicyTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var method: HTTPMethod = .GET
        var version: HTTPVersion = .http1_1
        var headers: [(String, String)]
        var refusal: AdminRefusal?
        var testDescription: String { "\(method) \(version) \(headers)" }
    }

    static let changeHeader = (AdminAccessPolicy.changeHeader, "1")

    static let table: [Row] = [
        // What real clients send.
        Row(headers: [("Host", "127.0.0.1:8025")], refusal: nil),
        Row(headers: [("Host", "localhost:8025"), ("User-Agent", "Prometheus/2.45.0")], refusal: nil),
        Row(headers: [("Host", "[::1]:8025")], refusal: nil),
        Row(headers: [("Host", "10.1.2.3")], refusal: nil),
        Row(headers: [("Host", "ARCHIVE.example:8025")], refusal: nil),
        Row(headers: [("Host", "metrics.localhost")], refusal: nil),
        Row(method: .HEAD, headers: [("Host", "127.0.0.1")], refusal: nil),
        Row(method: .POST, headers: [("Host", "127.0.0.1:8025"), changeHeader], refusal: nil),
        Row(method: .POST, version: .http1_0, headers: [changeHeader], refusal: nil),
        Row(version: .http1_0, headers: [], refusal: nil),
        // Cross-site requests from a page.
        Row(method: .POST, headers: [("Host", "127.0.0.1:8025"), ("Origin", "https://evil.example"), changeHeader], refusal: .crossOrigin),
        Row(method: .POST, headers: [("Host", "127.0.0.1:8025"), ("Origin", "null"), changeHeader], refusal: .crossOrigin),
        Row(headers: [("Host", "127.0.0.1:8025"), ("Origin", "http://127.0.0.1:8025")], refusal: .crossOrigin),
        Row(headers: [("Host", "127.0.0.1:8025"), ("Sec-Fetch-Site", "cross-site")], refusal: .crossOrigin),
        Row(headers: [("Host", "127.0.0.1:8025"), ("Sec-Fetch-Site", "none")], refusal: nil),
        // DNS rebinding: a name the attacker points at this machine.
        Row(headers: [("Host", "attacker.example")], refusal: .hostNotAllowed),
        Row(headers: [("Host", "attacker.example:8025")], refusal: .hostNotAllowed),
        Row(headers: [("Host", "127.0.0.1.attacker.example")], refusal: .hostNotAllowed),
        Row(headers: [("Host", "localhost.attacker.example")], refusal: .hostNotAllowed),
        Row(headers: [("Host", "[::1")], refusal: .hostNotAllowed),
        Row(headers: [("Host", "[::1]x")], refusal: .hostNotAllowed),
        Row(headers: [("Host", "[evil]:80")], refusal: .hostNotAllowed),
        Row(headers: [("Host", "127.0.0.1:80a")], refusal: .hostNotAllowed),
        Row(headers: [("Host", "")], refusal: .hostNotAllowed),
        Row(headers: [("Host", ":8025")], refusal: .hostNotAllowed),
        Row(headers: [], refusal: .badHost),
        Row(headers: [("Host", "127.0.0.1"), ("Host", "attacker.example")], refusal: .badHost),
        // A change without the header the CLI sends (a plain form post cannot add it).
        Row(method: .POST, headers: [("Host", "127.0.0.1:8025")], refusal: .changeWithoutHeader),
        Row(method: .POST, headers: [("Host", "127.0.0.1:8025"), (AdminAccessPolicy.changeHeader, "")], refusal: .changeWithoutHeader),
        Row(method: .DELETE, headers: [("Host", "127.0.0.1:8025")], refusal: .changeWithoutHeader),
    ]

    @Test(arguments: table)
    func request(_ row: Row) {
        let head = HTTPRequestHead(version: row.version, method: row.method, uri: "/queue", headers: HTTPHeaders(row.headers))
        let policy = AdminAccessPolicy(allowedHostNames: ["archive.example"])
        #expect(policy.refusal(for: head) == row.refusal)
    }
}
