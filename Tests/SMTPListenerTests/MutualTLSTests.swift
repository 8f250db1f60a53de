import Foundation
import NIOCore
import SMTPListener
import TestSupport
import Testing

/// Mutual TLS on a listener (`client_ca_file`): only clients with a certificate that the
/// configured CA signed get past the handshake. The CA and certificates are the tests'
/// `TestPKI`.
@Suite(.timeLimit(.minutes(5)))  // a hang guard only: the whole suite shares 2 cores (1 minute was exceeded there)
struct MutualTLSTests {
    enum Presented: String, CaseIterable {
        case signedByTheCA, selfSigned, none
    }

    @Test(arguments: Presented.allCases)
    func onlyAClientCertificateFromTheCAGetsThrough(_ presented: Presented) async throws {
        let pki = try await TestPKI.shared()
        let identity: TestIdentity? = switch presented {
        case .signedByTheCA: pki.leaf
        case .selfSigned: pki.stranger
        case .none: nil
        }
        try await withListener({ configuration in
            configuration.tlsMode = .starttls
            configuration.certificateFile = pki.leaf.certificate
            configuration.privateKeyFile = pki.leaf.key
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
