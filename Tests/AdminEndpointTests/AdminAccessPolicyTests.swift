import AdminEndpoint
import HTTPTypes
import Testing

/// The access policy as a table (issue 22, finding 2): what a browser page can send, by
/// cross-site request or DNS rebinding, is refused; what Prometheus, curl and the CLI send
/// is served. HTTP/1's first Host is the request's authority, a second one a header field.
@Suite struct AdminAccessPolicyTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var method: HTTPRequest.Method = .get
        var host: String?
        var headers: [(String, String)] = []
        var refusal: AdminRefusal?
        var testDescription: String { "\(method) \(host ?? "-") \(headers)" }
    }

    static let table: [Row] = [
        // What real clients send.
        Row(host: "127.0.0.1:8025", refusal: nil),
        Row(host: "localhost:8025", headers: [("User-Agent", "Prometheus/2.45.0")], refusal: nil),
        Row(host: "[::1]:8025", refusal: nil),
        Row(host: "10.1.2.3", refusal: nil),
        Row(host: "ARCHIVE.example:8025", refusal: nil),
        Row(host: "metrics.localhost", refusal: nil),
        Row(method: .head, host: "127.0.0.1", refusal: nil),
        Row(method: .post, host: "127.0.0.1:8025", headers: [("Authorization", "Bearer x")], refusal: nil),
        Row(host: "127.0.0.1:8025", headers: [("Sec-Fetch-Site", "none")], refusal: nil),
        // Cross-site requests from a page.
        Row(method: .post, host: "127.0.0.1:8025", headers: [("Origin", "https://evil.example")], refusal: .crossOrigin),
        Row(method: .post, host: "127.0.0.1:8025", headers: [("Origin", "null")], refusal: .crossOrigin),
        Row(host: "127.0.0.1:8025", headers: [("Origin", "http://127.0.0.1:8025")], refusal: .crossOrigin),
        Row(host: "127.0.0.1:8025", headers: [("Sec-Fetch-Site", "cross-site")], refusal: .crossOrigin),
        Row(host: "127.0.0.1:8025", headers: [("Sec-Fetch-Site", "same-site")], refusal: .crossOrigin),
        // DNS rebinding: a name the attacker points at this machine.
        Row(host: "attacker.example", refusal: .hostNotAllowed),
        Row(host: "attacker.example:8025", refusal: .hostNotAllowed),
        Row(host: "127.0.0.1.attacker.example", refusal: .hostNotAllowed),
        Row(host: "localhost.attacker.example", refusal: .hostNotAllowed),
        Row(host: "[::1", refusal: .hostNotAllowed),
        Row(host: "[::1]x", refusal: .hostNotAllowed),
        Row(host: "[evil]:80", refusal: .hostNotAllowed),
        Row(host: "127.0.0.1:80a", refusal: .hostNotAllowed),
        Row(host: "", refusal: .hostNotAllowed),
        Row(host: ":8025", refusal: .hostNotAllowed),
        // No Host, or two (the second stays a field).
        Row(host: nil, refusal: .badHost),
        Row(host: "127.0.0.1", headers: [("Host", "attacker.example")], refusal: .badHost),
    ]

    @Test(arguments: table)
    func request(_ row: Row) {
        var fields = HTTPFields()
        for (name, value) in row.headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let request = HTTPRequest(method: row.method, scheme: "http", authority: row.host, path: "/queue", headerFields: fields)
        let policy = AdminAccessPolicy(allowedHostNames: ["archive.example"])
        #expect(policy.refusal(for: request) == row.refusal)
    }
}
