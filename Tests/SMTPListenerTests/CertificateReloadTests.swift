import Foundation
import NIOCore
import NIOSSL
import SMTPListener
import TestSupport
import Testing

/// A renewed certificate (same file paths, new contents) is picked up by
/// `reloadCertificate()`, which `kill -HUP` calls: sessions that start TLS afterwards get
/// the new certificate, a session already in TLS keeps its own, and files that do not
/// load leave the current certificate in place.
/// The limit guards against a hang only: the first TLS test of the process waits for the
/// shared test PKI (openssl key generation), which on a loaded 2-core CI box took longer
/// than a minute.
@Suite(.timeLimit(.minutes(5)))
struct CertificateReloadTests {
    /// The certificate the listener presents to a new STARTTLS session.
    static func presented(by server: SMTPServer) async throws -> NIOSSLCertificate? {
        let client = try await TestClient(server)
        let certificate = try await startTLS(client) ? try await client.channel.channel.nioSSL_peerCertificate().get() : nil
        await client.close()
        return certificate
    }

    /// STARTTLS, then EHLO, whose reply comes once the handshake is done.
    static func startTLS(_ client: TestClient) async throws -> Bool {
        try await client.send("EHLO c\r\nSTARTTLS\r\n")
        guard try await client.codes(3) == [220, 250, 220] else { return false }
        try await client.startTLS()
        try await client.send("EHLO c\r\n")
        return try await client.reply()?.code == 250
    }

    @Test func aRenewedCertificateIsPresentedAfterTheReload() async throws {
        let directory = try makeTempDirectory()
        defer { removeTempDirectory(directory) }
        let pki = try await TestPKI.copy(to: directory)  // its self-signed "stranger" stands in for the renewal
        let files = pki.leaf
        let original = try NIOSSLCertificate.fromPEMFile(files.certificate)[0]
        let renewed = try NIOSSLCertificate.fromPEMFile(pki.stranger.certificate)[0]
        try await withListener({ configuration in
            configuration.tlsMode = .starttls
            configuration.certificateFile = files.certificate
            configuration.privateKeyFile = files.key
        }) { server, _ in
            #expect(try await Self.presented(by: server) == original)

            // A session in TLS before the renewal.
            let before = try await TestClient(server)
            #expect(try await Self.startTLS(before))

            // The renewal writes new files at the same paths; nothing changes until the reload.
            try FileManager.default.removeItem(atPath: files.certificate)
            try FileManager.default.removeItem(atPath: files.key)
            try FileManager.default.copyItem(atPath: pki.stranger.certificate, toPath: files.certificate)
            try FileManager.default.copyItem(atPath: pki.stranger.key, toPath: files.key)
            #expect(try await Self.presented(by: server) == original)
            #expect(try server.reloadCertificate())
            #expect(try await Self.presented(by: server) == renewed)

            // The earlier session still works on its own TLS.
            try await before.send(envelope() + "DATA\r\n")
            #expect(try await before.codes(3) == [250, 250, 354])
            await before.close()

            // A key that does not load: the reload throws, the renewed certificate stays.
            try "not a key".write(toFile: files.key, atomically: true, encoding: .utf8)
            #expect(throws: (any Error).self) { try server.reloadCertificate() }
            #expect(try await Self.presented(by: server) == renewed)
        }
    }

    @Test func aListenerWithoutTLSHasNothingToReload() async throws {
        let reloaded = try await withListener { server, _ in try server.reloadCertificate() }
        #expect(!reloaded)
    }
}
