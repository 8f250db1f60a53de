import Foundation
import TestSupport
import Testing

/// Renewing a listener's certificate (new files at the same paths, as certbot's deploy
/// hook does) and sending `kill -HUP`: the node presents the new certificate to the next
/// STARTTLS session, without a restart, and logs it.
@Suite(.serialized) struct CertificateRenewalTests {
    /// Prints the SHA-256 of the DER certificate the server presents after STARTTLS, and
    /// whether it is the one in the PEM file given.
    static let probe = #"""
    import hashlib, smtplib, ssl, sys
    port, pem = int(sys.argv[1]), sys.argv[2]
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.starttls(context=context)
        der = s.sock.getpeercert(binary_form=True)
    expected = ssl.PEM_cert_to_DER_cert(open(pem).read())
    print("same" if der == expected else "different", hashlib.sha256(der).hexdigest())
    """#

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(2)))
    func hupPresentsTheRenewedCertificate() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let pki = try await TestPKI.shared()
        for (name, identity) in [("first", pki.leaf), ("renewed", pki.stranger)] {
            try FileManager.default.copyItem(atPath: identity.certificate, toPath: "\(root)/\(name).pem")
            try FileManager.default.copyItem(atPath: identity.key, toPath: "\(root)/\(name).key")
        }
        let certificate = root + "/cert.pem", key = root + "/key.pem"
        try FileManager.default.copyItem(atPath: root + "/first.pem", toPath: certificate)
        try FileManager.default.copyItem(atPath: root + "/first.key", toPath: key)

        let node = try ChainNode(id: "renewal", root: root)
        try node.writeConfig("", journalExtra: ChainNode.startTLS(certificate: certificate, key: key))
        let process = try await node.start(workspace.children)
        func presented(_ pem: String) async throws -> String {
            let run = try await runProcess(NodeTestSupport.python, ["-c", Self.probe, "\(node.journalPort)", pem], in: root)
            return String(decoding: run.stdout, as: UTF8.self).split(separator: " ").first.map(String.init) ?? "error: \(run.stderr)"
        }
        #expect(try await presented(root + "/first.pem") == "same")

        // certbot-style renewal: new files replace the old ones at the same paths.
        try FileManager.default.removeItem(atPath: certificate)
        try FileManager.default.removeItem(atPath: key)
        try FileManager.default.copyItem(atPath: root + "/renewed.pem", toPath: certificate)
        try FileManager.default.copyItem(atPath: root + "/renewed.key", toPath: key)
        #expect(try await presented(root + "/first.pem") == "same", "the new files took effect before the HUP")

        process.sendSignal(SIGHUP)
        let logged = try await eventually {
            NodeTestSupport.tail(node.log, bytes: 20000).contains("TLS certificate reloaded")
        }
        #expect(logged, "log:\n\(NodeTestSupport.tail(node.log))")
        #expect(try await presented(root + "/renewed.pem") == "same")
        await node.stop(process)
    }
}
