import NIOCore
import NIOSSL
import SMTPListener
import SMTPProtocol
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(5)))  // a hang guard only: the whole suite shares 2 cores (1 minute was exceeded there)
struct TLSAndProxyTests {
    func tls(_ mode: TLSMode) -> (inout ListenerConfiguration) async throws -> Void {
        { configuration in
            let pki = try await TestPKI.shared()
            configuration.tlsMode = mode
            configuration.certificateFile = pki.leaf.certificate
            configuration.privateKeyFile = pki.leaf.key
        }
    }

    @Test func startTLSThenMail() async throws {
        try await withListener(tls(.starttls)) { server, receiver in
            let client = try await TestClient(server)
            try await client.send("EHLO c\r\nSTARTTLS\r\n")
            #expect(try await client.codes(3) == [220, 250, 220])
            try await client.startTLS()
            try await client.send("EHLO c\r\n")
            let ehlo = try #require(try await client.reply())
            #expect(!ehlo.lines.contains("STARTTLS"))
            try await client.send(envelope() + "DATA\r\n")
            #expect(try await client.codes(3) == [250, 250, 354])
            try await client.send("secret\r\n.\r\n")
            #expect(try await client.codes(1) == [250])
            let message = try #require(receiver.received.first)
            #expect(message.envelope.tls == "TLSv1.3")
            #expect(message.envelope.receivedHeader.contains("with ESMTPS (TLSv1.3)"))
        }
    }

    /// CVE-2011-0411: commands in the same packet as STARTTLS must not run after TLS.
    @Test func plaintextAfterStartTLSIsNotExecuted() async throws {
        try await withListener(tls(.starttls)) { server, receiver in
            let client = try await TestClient(server)
            try await client.send("EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x.example>\r\n")
            #expect(try await client.codes(3) == [220, 250, 554])
            #expect(try await client.isClosed())
            #expect(receiver.received.isEmpty)
        }
    }

    @Test func startTLSRequiredRefusesPlaintextMail() async throws {
        try await withListener(tls(.starttlsRequired)) { server, _ in
            let client = try await TestClient(server)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\n")
            let codes = try await client.codes(3)
            #expect(codes == [220, 250, 530])
        }
    }

    @Test func implicitTLS() async throws {
        try await withListener(tls(.implicit)) { server, receiver in
            let client = try await TestClient(server)
            try await client.startTLS()
            #expect(try await client.codes(1) == [220])
            try await client.send("EHLO c\r\n" + envelope() + "DATA\r\n")
            #expect(try await client.codes(4) == [250, 250, 250, 354])
            try await client.send("x\r\n.\r\n")
            #expect(try await client.codes(1) == [250])
            #expect(receiver.received.first?.envelope.tls != nil)
        }
    }

    /// A client offering only `suite` (TLS 1.2), or TLS 1.3 for nil. Static-RSA key exchange
    /// (no forward secrecy) and CBC with SHA-1 must fail the handshake; ECDHE with an AEAD
    /// cipher and TLS 1.3 get through (issue 22, finding 10).
    @Test(arguments: [
        (NIOTLSCipher.TLS_RSA_WITH_AES_128_CBC_SHA, false), (.TLS_RSA_WITH_AES_256_GCM_SHA384, false),
        (.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false), (.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, false),
        (.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, true), (.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, true),
        (nil, true),
    ] as [(NIOTLSCipher?, Bool)])
    func onlyForwardSecretAEADSuitesAreAccepted(suite: NIOTLSCipher?, accepted: Bool) async throws {
        try await withListener(tls(.starttls)) { server, _ in
            let client = try await TestClient(server)
            try await client.send("EHLO c\r\nSTARTTLS\r\n")
            #expect(try await client.codes(3) == [220, 250, 220])
            try await client.startTLS { tls in
                if let suite {
                    tls.maximumTLSVersion = .tlsv12
                    tls.cipherSuiteValues = [suite]
                } else {
                    tls.minimumTLSVersion = .tlsv13
                }
            }
            try? await client.send("EHLO c\r\n")
            let reply = try? await client.reply()
            #expect((reply?.code == 250) == accepted, "\(suite.map { "suite \($0.rawValue)" } ?? "TLS 1.3"): \(String(describing: reply))")
            await client.close()
        }
    }

    @Test func proxyHeaderFromTrustedProxySetsTheClient() async throws {
        try await withListener({
            $0.trustedProxies = [ClientNetwork("127.0.0.1")!]
            $0.allowedClients = [ClientNetwork("192.0.2.0/24")!]
        }) { server, receiver in
            let client = try await TestClient(server)
            try await client.send("PROXY TCP4 192.0.2.44 127.0.0.1 40000 25\r\nEHLO c\r\n" + envelope() + "DATA\r\n")
            #expect(try await client.codes(5) == [220, 250, 250, 250, 354])
            try await client.send("x\r\n.\r\n")
            #expect(try await client.codes(1) == [250])
            let message = try #require(receiver.received.first)
            #expect(message.envelope.clientIP == "192.0.2.44")
            #expect(message.envelope.receivedHeader.contains("([192.0.2.44])"))
        }
    }

    @Test func proxiedClientOutsideAllowlistIsRefused() async throws {
        try await withListener({
            $0.trustedProxies = [ClientNetwork("127.0.0.1")!]
            $0.allowedClients = [ClientNetwork("192.0.2.0/24")!]
        }) { server, _ in
            let client = try await TestClient(server)
            try await client.send("PROXY TCP4 203.0.113.9 127.0.0.1 40000 25\r\n")
            #expect(try await client.codes(1) == [554])
        }
    }

    @Test func malformedProxyHeaderCloses() async throws {
        try await withListener({ $0.trustedProxies = [ClientNetwork("127.0.0.1")!] }) { server, _ in
            let client = try await TestClient(server)
            try await client.send("EHLO not-a-proxy-header\r\n")
            #expect(try await client.isClosed())
        }
    }

    @Test func proxyHeaderFromUntrustedPeerCloses() async throws {
        try await withListener { server, receiver in
            let client = try await TestClient(server)
            try await client.send("PROXY TCP4 192.0.2.44 127.0.0.1 40000 25\r\nEHLO c\r\n")
            #expect(try await client.codes(1) == [220])
            #expect(try await client.isClosed())
            #expect(receiver.received.isEmpty)
        }
    }
}
