import ArchiveStore
import Foundation
import TestSupport
import Testing
@testable import ForwardQueue

/// STARTTLS against aiosmtpd requiring it: verified against the CA file and server name,
/// and refused (nothing sent, peer backed off) when the certificate is not trusted.
/// (The test certificate also names 127.0.0.1, which NIOSSL accepts for a connection to
/// that address whatever the server name, so the refusal case uses the trust store.)
/// The peer presents the test PKI's leaf; its CA is the one to trust.
@Suite(.serialized, .timeLimit(.minutes(5))) struct TLSDeliveryTests {
    /// An aiosmtpd peer requiring STARTTLS with the test certificate, `count` archived
    /// messages queued for it over `tls = "required"`, and `body` while the queue delivers.
    /// `caFile` gets the test PKI and the data directory and returns the connection's `ca_file`.
    func withTLSPeer(serverName: String, count: Int, caFile: (TestPKI, String) throws -> String?,
                     _ body: (ForwardQueue, RecordingPeer, [[UInt8]]) async throws -> Void) async throws {
        try await withTempDirectory { dir in
            let pki = try await TestPKI.shared()
            let port = try freePort()
            let peer = try RecordingPeer(port: port, directory: dir + "/peer", tls: pki.leaf)
            defer { peer.stop() }
            try await peer.waitReady()
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let messages = try await Live.archive(store, count: count, tag: "tls")
            var settings = PeerSettings(name: "peer-tls", host: "127.0.0.1", port: port)
            settings.tls = .required
            settings.caFile = try caFile(pki, dir)
            settings.serverName = serverName
            settings.minBackoff = 0.3
            settings.maxBackoff = 0.6
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [settings], archive: store, nodeID: "node-a", logger: quietLogger)
            try await whileDelivering(queue) {
                try await queue.enqueue(messages.map { QueueItem(connection: "peer-tls", reference: $0.0, size: UInt64($0.1.count), sender: "s@example.test", recipients: ["r@example.test"]) })
                try await body(queue, peer, messages.map(\.1))
            }
            try await store.close()
        }
    }

    func run(serverName: String, trustTestCA: Bool, expectDelivery: Bool) async throws {
        try await withTLSPeer(serverName: serverName, count: 5, caFile: { pki, _ in trustTestCA ? pki.authority : nil }) { queue, peer, messages async throws in
            if expectDelivery {
                #expect(try await eventually { queue.snapshot().connections.first?.depth == 0 })
                #expect(Set(peer.messages()) == Set(messages))
            } else {
                #expect(try await eventually { queue.snapshot().connections.first?.lastError?.contains("TLS handshake failed") == true })
                #expect(queue.snapshot().connections.first?.depth == 5)
                #expect(peer.messages().isEmpty)
            }
        }
    }

    @Test func requiredTLSDeliversToAVerifiedPeer() async throws {
        try await run(serverName: "localhost", trustTestCA: true, expectDelivery: true)
    }

    @Test func requiredTLSRefusesAPeerWithAnUntrustedCertificate() async throws {
        try await run(serverName: "localhost", trustTestCA: false, expectDelivery: false)
    }

    /// `kill -HUP` after a CA renewal: the connection's `ca_file` is read again. Before the
    /// reload the file trusts another CA (the PKI's stranger) and every handshake fails; the file is rewritten
    /// with the peer's CA, which changes nothing until `reloadCertificates()`, after which
    /// the backlog is delivered.
    @Test func aRenewedCAFileIsReadOnReload() async throws {
        var peerCA = "", caFile = ""
        try await withTLSPeer(serverName: "localhost", count: 3, caFile: { pki, dir in
            peerCA = pki.authority
            caFile = dir + "/ca.pem"
            try FileManager.default.copyItem(atPath: pki.stranger.certificate, toPath: caFile)
            return caFile
        }) { queue, peer, messages in
            #expect(try await eventually { queue.snapshot().connections.first?.lastError?.contains("TLS handshake failed") == true })
            try FileManager.default.removeItem(atPath: caFile)
            try FileManager.default.copyItem(atPath: peerCA, toPath: caFile)
            try await Task.sleep(for: .seconds(1.5))  // several retries with the old trust store
            #expect(queue.snapshot().connections.first?.depth == 3, "delivered before the reload")
            queue.reloadCertificates()
            #expect(try await eventually { queue.snapshot().connections.first?.depth == 0 })
            #expect(Set(peer.messages()) == Set(messages))
        }
    }
}
