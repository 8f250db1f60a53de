/// Splits a message arriving on a listener into what the nodes of its path prepended (the
/// trace field and the header fields they relayed, `LoopTrace.relayedHeaderLength` bytes)
/// and the original, as its bytes stream in.
///
/// Only a listener with `trust_trace` strips anything; elsewhere every byte is the
/// client's content and passes through. When the trace cannot be read, or names more
/// relayed bytes than there are, or they do not end at a line end, or (with the chain's
/// key) its mac does not verify, nothing is stripped: the bytes are kept as content and
/// `scan` says why (`standing` says what that means for `LoopGuard`).
public struct TraceStripper: Sendable {
    /// More relayed bytes than this (50 Received fields of 20 KiB) is not a real path.
    public static let maximumRelayedLength = 1 << 20

    private enum Phase: Sendable {
        case scanning
        case stripping(remaining: Int)
        case passing
    }

    private let trust: TraceTrust
    private var phase: Phase
    private var held: [UInt8] = []
    /// What the leading bytes said; nil from a listener that does not trust traces.
    public private(set) var scan: LoopTraceScan?
    /// The bytes removed before the original: the trace field, then the relayed fields.
    public private(set) var prepended: [UInt8] = []
    /// Where the relayed fields start in `prepended`.
    public private(set) var traceFieldLength = 0

    public init(trust: TraceTrust) {
        self.trust = trust
        if case .untrusted = trust { phase = .passing } else { phase = .scanning }
    }

    /// What the leading bytes count for; final once `isPassingThrough`.
    public var standing: TraceStanding {
        switch (trust, scan) {
        case (.untrusted, _), (_, nil), (_, .absent?):
            return .entering
        case (_, .found(let trace, _)?):
            return .inChain(trace)  // kept only when stripped: read, and verified if a key is set
        case (.byListener, .malformed(let reason)?):
            return .unreadable(reason)
        case (.byListener, .needsMoreBytes?):
            return .unreadable("the message ends inside its first header field")
        case (.byKey, _):
            return .entering  // not signed by the chain: content, like any client's
        }
    }

    /// Why a trace at the top was kept as content on a listener with the chain's key (a
    /// peer with another key or none, or a forgery); nil when there was none or it verified.
    public var unverifiedTrace: String? {
        guard case .byKey = trust, case .entering = standing, let scan, scan != .absent else { return nil }
        if case .malformed(let reason) = scan { return reason }
        return "the message ends inside its first header field"
    }

    /// With the chain's key, whether the stripped trace was signed for another original
    /// than the one whose SHA-256 is `digest` (known only at the end): a real trace lifted
    /// onto another message, or a copy damaged on the way.
    public func strippedTraceIsForAnotherOriginal(than digest: [UInt8]) -> Bool {
        guard case .byKey = trust, case .inChain(let trace) = standing else { return false }
        return trace.originalDigest != digest
    }

    /// True once every further byte is content: the caller may pass chunks on unchanged.
    public var isPassingThrough: Bool {
        if case .passing = phase { return true }
        return false
    }

    /// The header fields the path's nodes relayed (their Received fields), without the trace.
    public var relayedFields: ArraySlice<UInt8> { prepended[traceFieldLength...] }

    /// Feeds the next bytes; returns those now known to belong to the original.
    public mutating func consume(_ bytes: some Collection<UInt8>) -> [UInt8] {
        switch phase {
        case .passing:
            return Self.copy(bytes)
        case .scanning:
            held.append(contentsOf: Self.copy(bytes))
            let result = LoopTraceParser.scan(held)
            switch result {
            case .needsMoreBytes:
                return []
            case .absent, .malformed:
                return keepAsContent(result)
            case .found(let trace, let fieldLength):
                guard trace.relayedHeaderLength <= Self.maximumRelayedLength else {
                    return keepAsContent(.malformed("relayed=\(trace.relayedHeaderLength) is more than \(Self.maximumRelayedLength) bytes"))
                }
                scan = result
                traceFieldLength = fieldLength
                let rest = Array(held[fieldLength...])
                prepended = Array(held[..<fieldLength])
                held = []
                phase = .stripping(remaining: trace.relayedHeaderLength)
                return strip(rest)
            }
        case .stripping:
            return strip(Self.copy(bytes))
        }
    }

    /// A copy made here, with one memcpy when the caller's bytes are contiguous (a
    /// `ByteBufferView`): `Array(bytes)` on a collection from another module copies
    /// through its protocol, byte by byte.
    private static func copy(_ bytes: some Collection<UInt8>) -> [UInt8] {
        bytes.withContiguousStorageIfAvailable { Array($0) } ?? Array(bytes)
    }

    /// The message ended: returns what is left of the original.
    public mutating func finish() -> [UInt8] {
        switch phase {
        case .passing:
            return []
        case .scanning:
            scan = .needsMoreBytes
            phase = .passing
            defer { held = [] }
            return held
        case .stripping:
            return revert(because: "the message ends inside the relayed header fields", rest: [])
        }
    }

    private mutating func strip(_ bytes: [UInt8]) -> [UInt8] {
        guard case .stripping(let remaining) = phase else { return bytes }
        let take = min(remaining, bytes.count)
        prepended.append(contentsOf: bytes[..<take])
        guard take == remaining else {
            phase = .stripping(remaining: remaining - take)
            return []
        }
        let rest = Array(bytes[take...])
        if prepended.count > traceFieldLength, !prepended.hasCRLFSuffix {
            return revert(because: "relayed does not end at a line end", rest: rest)
        }
        if case .byKey(let key) = trust, case .found(let trace, _)? = scan, !key.authenticates(trace, relayedFields: relayedFields) {
            return revert(because: "not signed with this chain's trace key", rest: rest)
        }
        phase = .passing
        return rest
    }

    private mutating func keepAsContent(_ result: LoopTraceScan) -> [UInt8] {
        scan = result
        phase = .passing
        defer { held = [] }
        return held
    }

    private mutating func revert(because reason: String, rest: [UInt8]) -> [UInt8] {
        scan = .malformed(reason)
        phase = .passing
        let content = prepended + rest
        prepended = []
        traceFieldLength = 0
        return content
    }
}

extension Array where Element == UInt8 {
    fileprivate var hasCRLFSuffix: Bool {
        count >= 2 && self[count - 2] == UInt8(ascii: "\r") && self[count - 1] == UInt8(ascii: "\n")
    }
}
