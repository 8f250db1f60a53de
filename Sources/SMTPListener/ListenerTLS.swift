import NIOConcurrencyHelpers
import NIOSSL

/// A TLS listener's server context, which `kill -HUP` replaces: the certificate and key
/// files are read again (a renewed certificate at the same paths), and every TLS session
/// that starts after that presents the new certificate. Sessions already in TLS keep the
/// one they started with.
final class ListenerTLS: Sendable {
    private let current: NIOLockedValueBox<NIOSSLContext>

    init(_ context: NIOSSLContext) {
        current = NIOLockedValueBox(context)
    }

    /// The context for a session starting TLS now.
    var context: NIOSSLContext { current.withLockedValue { $0 } }

    func replace(with context: NIOSSLContext) {
        current.withLockedValue { $0 = context }
    }
}
