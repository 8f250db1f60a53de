import AdminEndpoint
import Foundation
import NIOSSL
import TestSupport
import Testing

/// Who may do what on the admin endpoint, asked by curl over real TCP (issue 26, items 5
/// and 6): no token, a wrong token, a token of too low a role, for each kind of route; what
/// a web page can send; the open probes; TLS.
@Suite struct AdminAuthTests {
    /// One protected route kind: how to ask it and the lowest role it needs.
    struct RouteKind: Sendable, CustomTestStringConvertible {
        var path: String
        var method: String
        var needs: AdminRole
        var testDescription: String { "\(method) \(path) (\(needs.rawValue))" }
    }

    static let kinds = [
        RouteKind(path: "/read", method: "GET", needs: .read),
        RouteKind(path: "/change", method: "POST", needs: .operate),
        RouteKind(path: "/audit", method: "GET", needs: .admin),
    ]

    @Test(arguments: kinds)
    func noTokenWrongTokenAndTooLowARole(_ kind: RouteKind) async throws {
        let server = try await AdminTestServer()
        let method = ["-X", kind.method]
        let none = try await server.curl(kind.path, method)
        #expect(none.status == 401)
        #expect(none.headers.lowercased().contains("www-authenticate: bearer"), "\(none.headers)")
        #expect(none.body.contains(#""error""#))
        #expect(try await server.curl(kind.path, method + AdminTestServer.bearer("arlt_wrong")).status == 401)
        #expect(try await server.curl(kind.path, method + ["-H", "Authorization: Basic YWRtaW46YWRtaW4="]).status == 401)
        for role in AdminRole.allCases {
            let secret = try #require(AdminTestServer.secrets[role])
            let answer = try await server.curl(kind.path, method + AdminTestServer.bearer(secret))
            #expect(answer.status == (role >= kind.needs ? 200 : 403), "\(role.rawValue): \(answer.body)")
        }
        #expect(server.changed == (kind.method == "POST" ? 2 : 0), "only operate and admin changed")
        await server.endpoint.close()
    }

    @Test func aCrossOriginPostIsRefusedAndChangesNothing() async throws {
        let server = try await AdminTestServer()
        let token = AdminTestServer.bearer(AdminTestServer.secrets[.admin] ?? "")
        for header in ["Origin: http://evil.example", "Origin: null", "Sec-Fetch-Site: cross-site", "Sec-Fetch-Site: same-site"] {
            let answer = try await server.curl("/change", ["-X", "POST", "-H", header] + token)
            #expect(answer.status == 403, "\(header): \(answer.body)")
        }
        // A rebound host name, with a valid token, is refused as well.
        #expect(try await server.curl("/change", ["-X", "POST", "-H", "Host: attacker.example"] + token).status == 403)
        #expect(server.changed == 0)
        #expect(try await server.curl("/change", ["-X", "POST"] + token).status == 200)
        #expect(server.changed == 1)
        await server.endpoint.close()
    }

    @Test func getOnAChangeRouteChangesNothing() async throws {
        let server = try await AdminTestServer()
        let answer = try await server.curl("/change", AdminTestServer.bearer(AdminTestServer.secrets[.admin] ?? ""))
        #expect(answer.status == 405, "\(answer.body)")
        #expect(server.changed == 0)
        await server.endpoint.close()
    }

    @Test func theProbesAreOpenAndUnknownPathsNeedAToken() async throws {
        let server = try await AdminTestServer()
        #expect(try await server.curl("/healthz").status == 200)
        #expect(try await server.curl("/healthz", ["-I"]).status == 200)
        #expect(try await server.curl("/healthz", ["-X", "POST"]).status == 401, "only GET and HEAD are open")
        #expect(try await server.curl("/elsewhere").status == 401)
        #expect(try await server.curl("/elsewhere", AdminTestServer.bearer(AdminTestServer.secrets[.read] ?? "")).status == 404)
        await server.endpoint.close()
    }

    /// Only the local token's requests may name their operator; another token's header is ignored.
    @Test func onlyTheLocalTokenNamesItsOperator() async throws {
        let server = try await AdminTestServer()
        let named = ["-H", "X-Archiverelay-Operator: alice"]
        #expect(try await server.curl("/read", named + AdminTestServer.bearer(AdminTestServer.local)).body.contains(#""actor":"user:alice""#))
        #expect(try await server.curl("/read", AdminTestServer.bearer(AdminTestServer.local)).body.contains(#""actor":"token:local""#))
        #expect(try await server.curl("/read", named + AdminTestServer.bearer(AdminTestServer.secrets[.admin] ?? ""))
            .body.contains(#""actor":"token:admin-token""#))
        await server.endpoint.close()
    }

    @Test func tlsAnswersAndPlainHTTPToTheTLSPortGetsNone() async throws {
        let pki = try await TestPKI.shared()
        let chain = try NIOSSLCertificate.fromPEMFile(pki.leaf.certificate).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: pki.leaf.key, format: .pem)
        let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        let server = try await AdminTestServer(tls: tls)
        #expect(try await server.curl("/healthz", caFile: pki.authority).status == 200)
        let read = try await server.curl("/read", AdminTestServer.bearer(AdminTestServer.secrets[.read] ?? ""), caFile: pki.authority)
        #expect(read.status == 200, "\(read.body)")
        #expect(try await server.curl("/read", caFile: pki.authority).status == 401)
        #expect(try await server.curl("/healthz").status == 0, "plain HTTP to the TLS port got an HTTP answer")
        #expect(try await server.curl("/healthz", ["-k"], scheme: "https").status == 200)
        await server.endpoint.close()
    }
}
