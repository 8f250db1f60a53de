import Foundation
import NIOCore
import SMTPListener
import Testing

/// Mutual TLS on a listener (`client_ca_file`): only clients with a certificate that the
/// configured CA signed get past the handshake. The CA and certificates are made by
/// Debian's openssl for each run.
@Suite(.timeLimit(.minutes(1)))
struct MutualTLSTests {
    enum Presented: String, CaseIterable {
        case signedByTheCA, selfSigned, none
    }

    @Test(arguments: Presented.allCases)
    func onlyAClientCertificateFromTheCAGetsThrough(_ presented: Presented) async throws {
        let pki = try await TestPKI.make()
        defer { pki.remove() }
        let identity: (certificate: String, key: String)? = switch presented {
        case .signedByTheCA: (pki.clientCertificate, pki.clientKey)
        case .selfSigned: (pki.strangerCertificate, pki.strangerKey)
        case .none: nil
        }
        try await withListener({ configuration in
            let files = try TestCertificate.writeFiles()
            configuration.tlsMode = .starttls
            configuration.certificateFile = files.certificate
            configuration.privateKeyFile = files.key
            configuration.clientCertificateAuthorityFile = pki.authority
        }) { server, _ in
            let client = try await TestClient(server)
            try await client.send("EHLO peer\r\nSTARTTLS\r\n")
            #expect(try await client.codes(3) == [220, 250, 220])
            try await client.startTLS(identity: identity)
            try? await client.send("EHLO peer\r\n")
            let reply = try? await client.reply()
            if presented == .signedByTheCA {
                #expect(reply?.code == 250, "a peer with the CA's certificate was refused")
            } else {
                #expect(reply == nil, "a client presenting \(presented) got \(String(describing: reply))")
            }
            await client.close()
        }
    }
}

/// A throwaway CA, a client certificate it signed, and a self-signed stranger, made with
/// the openssl command line in a temporary directory.
struct TestPKI {
    let directory: String
    var authority: String { directory + "/ca.pem" }
    var clientCertificate: String { directory + "/client.pem" }
    var clientKey: String { directory + "/client.key" }
    var strangerCertificate: String { directory + "/stranger.pem" }
    var strangerKey: String { directory + "/stranger.key" }

    static func make() async throws -> TestPKI {
        let pki = TestPKI(directory: FileManager.default.temporaryDirectory.appendingPathComponent("mtls-\(UUID().uuidString)").path)
        try FileManager.default.createDirectory(atPath: pki.directory, withIntermediateDirectories: true)
        let days = ["-days", "2"]
        try await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=archiverelay test CA"] + days, in: pki.directory)
        try await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=node-b"], in: pki.directory)
        try await openssl(["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.pem"] + days, in: pki.directory)
        try await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "stranger.key", "-out", "stranger.pem", "-subj", "/CN=node-b"] + days, in: pki.directory)
        return pki
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// Runs openssl and waits for it by polling: a blocking wait would hold one of the
    /// cooperative pool's threads (two on the CI machine) for the whole key generation.
    static func openssl(_ arguments: [String], in directory: String) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        guard process.terminationStatus == 0 else {
            throw TestPKIError(description: "openssl \(arguments.prefix(2).joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}

struct TestPKIError: Error, CustomStringConvertible {
    var description: String
}
