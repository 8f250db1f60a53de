import Crypto
import DurableFiles

/// The secret a node signs the traces of its copies with: HMAC-SHA256 over the trace's
/// parameters, the SHA-256 of the original the copy carries and the relayed header fields.
/// Only a trace whose mac this key verifies counts as written by the chain, so a client
/// that writes trace fields into its message cannot make a node take it for a copy (issue
/// 22); the digest ties a lifted trace to the one original it was signed for.
public struct TraceKey: Sendable, Hashable, CustomStringConvertible {
    public enum Scope: Sendable, Hashable {
        /// `[node] trace_secret` or `trace_key_file`: every node of the chain holds it and
        /// verifies the others' traces.
        case chain
        /// Made at start when no chain key is configured: only this node can verify what
        /// it signed, which is enough to know its own copy coming back.
        case node
    }

    /// HMAC-SHA256 keys shorter than its output weaken it (RFC 2104 §3).
    public static let minimumLength = 32
    /// Bytes of a `mac` and of a `sha256` parameter.
    public static let codeLength = SHA256.byteCount
    public static let digestLength = SHA256.byteCount
    /// What a signed trace starts its mac input with, so a mac made for anything else
    /// never verifies, and a later trace format can change its input.
    static let domain = Array("archiverelay-trace-1\r\n".utf8)

    public let scope: Scope
    private let bytes: [UInt8]

    public init?(bytes: [UInt8], scope: Scope) {
        guard bytes.count >= Self.minimumLength else { return nil }
        self.bytes = bytes
        self.scope = scope
    }

    /// A key written as hex digits (what `openssl rand -hex 32` prints); white space and
    /// line ends around it are ignored.
    public init?(hex: some StringProtocol, scope: Scope) {
        let blank: Set<Character> = [" ", "\t", "\r", "\n", "\r\n"]
        let text = hex.drop { blank.contains($0) }.reversed().drop { blank.contains($0) }.reversed()
        guard let bytes = Hex.decode(String(text)) else { return nil }
        self.init(bytes: bytes, scope: scope)
    }

    /// A new random node key, for the life of the process.
    public static func random() -> TraceKey {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<minimumLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return TraceKey(bytes: bytes, scope: .node)!
    }

    /// `trace` with its `sha256` and its `mac`; `relayedFields` are the
    /// `relayedHeaderLength` bytes that follow it on the copy.
    public func sign(_ trace: LoopTrace, originalDigest: [UInt8], relayedFields: some Collection<UInt8>) -> LoopTrace {
        var signed = trace
        signed.originalDigest = originalDigest
        signed.authenticationCode = Array(code(signed, relayedFields: relayedFields))
        return signed
    }

    /// Whether this key made `trace`'s mac over its parameters and `relayedFields`.
    public func authenticates(_ trace: LoopTrace, relayedFields: some Collection<UInt8>) -> Bool {
        guard let mac = trace.authenticationCode, trace.originalDigest != nil,
              relayedFields.count == trace.relayedHeaderLength else { return false }
        return code(trace, relayedFields: relayedFields) == mac  // constant time (swift-crypto)
    }

    private func code(_ trace: LoopTrace, relayedFields: some Collection<UInt8>) -> HMAC<SHA256>.MAC {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: bytes))
        let parameters = "hops=\(trace.hops); path=\(trace.path.map(\.value).joined(separator: ","));"
            + " relayed=\(trace.relayedHeaderLength); sha256=\(Hex.encode(trace.originalDigest ?? []))\r\n"
        hmac.update(data: Self.domain)
        hmac.update(data: Array(parameters.utf8))
        hmac.update(data: Array(relayedFields))  // a few hundred bytes a hop
        return hmac.finalize()
    }

    /// Never the key itself: a routing table may end up in a log.
    public var description: String { "TraceKey(\(scope))" }
}
