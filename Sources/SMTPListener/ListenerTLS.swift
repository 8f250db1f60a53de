import DurableFiles
import NIOSSL

/// A TLS listener's server context, which `kill -HUP` replaces: the certificate and key
/// files are read again (a renewed certificate at the same paths), and every TLS session
/// that starts after that presents the new certificate. Sessions already in TLS keep the
/// one they started with.
final class ListenerTLS: Sendable {
    private let current: LockedValue<NIOSSLContext>

    init(_ context: NIOSSLContext) {
        current = LockedValue(context)
    }

    /// The context for a session starting TLS now.
    var context: NIOSSLContext { current.withLock { $0 } }

    func replace(with context: NIOSSLContext) {
        current.withLock { $0 = context }
    }
}

/// Builds the listener's TLS context from its certificate and key files.
enum TLSContextFactory {
    /// The TLS 1.2 suites a listener accepts: ECDHE key exchange (forward secrecy: a key
    /// stolen later does not open recorded sessions) with an AEAD cipher. swift-nio-ssl's
    /// default also takes static-RSA key exchange and CBC with SHA-1 (Lucky13-style padding
    /// oracles). TLS 1.3's suites are all ECDHE and AEAD and are not configurable.
    static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    static func makeServerContext(_ configuration: ListenerConfiguration) throws -> NIOSSLContext? {
        guard configuration.tlsMode != .none else { return nil }
        guard let certificateFile = configuration.certificateFile, let keyFile = configuration.privateKeyFile else {
            throw ListenerError.tlsMaterial("listener \(configuration.name) needs certificate_file and key_file for TLS")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            tls.cipherSuiteValues = tls12CipherSuites
            if let authority = configuration.clientCertificateAuthorityFile {
                // A server that verifies asks for the client's certificate and fails the
                // handshake without one; host names do not apply to clients.
                tls.certificateVerification = .noHostnameVerification
                tls.trustRoots = .file(authority)
            }
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ListenerError.tlsMaterial("\(certificateFile), \(keyFile): \(error)")
        }
    }
}
