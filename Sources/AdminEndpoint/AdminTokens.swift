import Crypto
import DurableFiles
import Foundation

/// A bearer token the endpoint accepts: its name (the audit log's `token:NAME`), its role,
/// and the SHA-256 of its secret. The secret itself is never kept.
public struct AdminToken: Sendable, Equatable {
    public var name: String
    public var role: AdminRole
    public var sha256: [UInt8]

    public init(name: String, role: AdminRole, sha256: [UInt8]) {
        self.name = name
        self.role = role
        self.sha256 = sha256
    }

    /// A fresh secret: a recognisable prefix and 32 random bytes, base64url.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let text = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return secretPrefix + text
    }

    /// What every secret begins with, so one pasted into a log or a repository is recognised.
    public static let secretPrefix = "arlt_"

    /// The SHA-256 a token file keeps for `secret`.
    public static func digest(_ secret: String) -> [UInt8] { Array(SHA256.hash(data: Data(secret.utf8))) }
}

/// The tokens the endpoint accepts now: the token file's, and the node's own local token.
/// Replaced whole on reload (`AdminTokenRing`).
public struct AdminTokenSet: Sendable {
    public var tokens: [AdminToken]
    /// The token `serve` writes to `<data-dir>/admin/local.token` for the CLI: role admin,
    /// and the only one whose requests may name their operator (`AdminGate.operatorHeader`).
    public var local: AdminToken?

    public init(tokens: [AdminToken] = [], local: AdminToken? = nil) {
        self.tokens = tokens
        self.local = local
    }

    /// The token whose secret is `secret`, and whether it is the local one. Every token's
    /// digest is compared whole, whichever matches, so the time taken says nothing about
    /// which bytes were right.
    public func token(for secret: String) -> AdminCredential? {
        let digest = AdminToken.digest(secret)
        var found: AdminCredential?
        for (token, isLocal) in tokens.map({ ($0, false) }) + (local.map { [($0, true)] } ?? []) {
            var difference: UInt8 = token.sha256.count == digest.count ? 0 : 1
            for (a, b) in zip(token.sha256, digest) { difference |= a ^ b }
            if difference == 0 && found == nil { found = AdminCredential(token: token, isLocal: isLocal) }
        }
        return found
    }
}

/// A token that matched a request's bearer secret.
public struct AdminCredential: Sendable, Equatable {
    public var token: AdminToken
    public var isLocal: Bool
}

/// The endpoint's current tokens, replaced whole when the configuration is reloaded.
public final class AdminTokenRing: Sendable {
    private let current: LockedValue<AdminTokenSet>

    public init(_ tokens: AdminTokenSet) { current = LockedValue(tokens) }

    public var tokens: AdminTokenSet { current.withLock { $0 } }

    /// New token file tokens; the local token stays.
    public func replaceFileTokens(_ tokens: [AdminToken]) { current.withLock { $0.tokens = tokens } }
}
