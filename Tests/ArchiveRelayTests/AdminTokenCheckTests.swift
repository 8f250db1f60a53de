import RelayConfiguration
import Testing

/// `[node] admin_tokens_file` and the admin TLS files as check-config and the node see them
/// (issue 26, item 5): every problem of a token file named, a readable-by-all file warned of.
@Suite struct AdminTokenCheckTests {
    static let digest = String(repeating: "ab", count: 32)
    static func config(_ nodeExtra: String = "") -> String {
        "[node]\nid = \"node-a\"\nadmin_tokens_file = \"/etc/archiverelay/tokens.toml\"\n\(nodeExtra)"
            + "[[listener]]\nname = \"journal\"\naddress = \"127.0.0.1:2525\"\n"
    }
    static let node = config()

    static func environment(_ tokens: String, worldReadable: Bool = false) -> ConfigurationCheck.Environment {
        ConfigurationCheck.Environment(hostName: "build-host", unreadable: { $0.hasPrefix("/missing/") ? "does not exist" : nil },
                                       contents: { _ in tokens }, worldReadable: { _ in worldReadable })
    }

    static func token(_ name: String, _ role: String, _ sha256: String = digest) -> String {
        "[[token]]\nname = \"\(name)\"\nrole = \"\(role)\"\nsha256 = \"\(sha256)\"\n"
    }

    static let at = "node.admin_tokens_file /etc/archiverelay/tokens.toml"

    static let cases: [(file: String, errors: [String])] = [
        (token("prometheus", "read") + token("ops", "operate") + token("root", "admin"), []),
        (token("ops", "operate") + token("ops", "read"), ["\(at): token[2] ops: name given twice"]),
        (token("ops", "superuser"), ["\(at): token[1] ops: role must be one of read, operate, admin, got superuser"]),
        (token("ops", "read", "abc"), ["\(at): token[1] ops: sha256 must be 64 hex digits (archiverelay token create prints it)"]),
        (token("ops", "read", String(repeating: "zz", count: 32)),
         ["\(at): token[1] ops: sha256 must be 64 hex digits (archiverelay token create prints it)"]),
        (token("local", "admin"), ["\(at): token[1] local: the name local is the node's own CLI token; choose another"]),
        (token("two words", "read"), ["\(at): token[1] two words: name must be 1 to 64 of A-Z a-z 0-9 . _ -"]),
        ("[[token]]\nname = \"ops\"\n", ["\(at): token[1].role: missing, or not of the expected type ([[token]] needs name, role and sha256, each a string)"]),
        ("[[token]\n", ["\(at): line 1, column 9: not valid TOML: Error while parsing table header: expected ']', saw '\\n'"]),
    ]

    @Test(arguments: cases)
    func aTokenFileIsChecked(file: String, errors: [String]) throws {
        switch ConfigurationCheck.check(text: Self.node, environment: Self.environment(file)) {
        case .success(let validated):
            #expect(errors == [])
            #expect(validated.node.adminTokens.map(\.name) == ["prometheus", "ops", "root"])
            #expect(validated.node.adminTokens.map(\.role) == ["read", "operate", "admin"])
            #expect(validated.node.adminTokens.allSatisfy { $0.sha256 == [UInt8](repeating: 0xab, count: 32) })
        case .failure(let problems):
            #expect(problems.errors == errors)
        }
    }

    @Test func aMissingFileIsAnErrorAndAReadableByAllFileAWarning() throws {
        let missing = Self.node.replacingOccurrences(of: "/etc/", with: "/missing/")
        let failed = ConfigurationCheck.check(text: missing, environment: Self.environment(""))
        #expect(throws: ConfigurationProblems.self) { try failed.get() }
        if case .failure(let problems) = failed {
            #expect(problems.errors == ["node: admin_tokens_file /missing/archiverelay/tokens.toml: does not exist"])
        }
        let open = try ConfigurationCheck.check(text: Self.node, environment: Self.environment(Self.token("ops", "read"), worldReadable: true)).get()
        #expect(open.warnings.contains("node: admin_tokens_file /etc/archiverelay/tokens.toml can be read by every user of this machine: chmod 600 it"))
        let closed = try ConfigurationCheck.check(text: Self.node, environment: Self.environment(Self.token("ops", "read"))).get()
        #expect(!closed.warnings.contains { $0.contains("admin_tokens_file") })
    }

    @Test func theTLSFilesGoTogether() throws {
        let certificateOnly = Self.config("admin_tls_certificate_file = \"/etc/archiverelay/admin.pem\"\n")
        if case .failure(let problems) = ConfigurationCheck.check(text: certificateOnly, environment: Self.environment(Self.token("ops", "read"))) {
            #expect(problems.errors == ["node: set admin_tls_certificate_file and admin_tls_key_file together (or neither)"])
        } else {
            Issue.record("a certificate without a key was accepted")
        }
        let both = Self.config("admin_tls_certificate_file = \"/etc/archiverelay/admin.pem\"\n"
            + "admin_tls_key_file = \"/etc/archiverelay/admin.key\"\nadmin = \"0.0.0.0:8025\"\n")
        let validated = try ConfigurationCheck.check(text: both, environment: Self.environment(Self.token("ops", "read"))).get()
        #expect(validated.node.adminTLS == AdminTLSFiles(certificateFile: "/etc/archiverelay/admin.pem", keyFile: "/etc/archiverelay/admin.key"))
        #expect(!validated.warnings.contains { $0.contains("admin 0.0.0.0:8025") }, "a TLS endpoint off loopback is not warned of")
        let plain = Self.config("admin = \"0.0.0.0:8025\"\n")
        #expect(try ConfigurationCheck.check(text: plain, environment: Self.environment(Self.token("ops", "read"))).get()
            .warnings.contains { $0.contains("admin 0.0.0.0:8025 is not a loopback address") })
    }
}
