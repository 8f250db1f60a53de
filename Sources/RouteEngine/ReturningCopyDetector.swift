import Crypto

/// Finds this node's own copy coming back inside a message whose leading bytes are content
/// (no trace was honoured and stripped), as the bytes stream in.
///
/// A peer whose connection aims at this node's journal listener instead of its HA listener
/// hands on what it took there, this node's copy (trace, relayed fields, original), behind
/// its own trace and relayed fields. The detector walks such nested copies in the first
/// `window` bytes: each a well-formed trace followed by the `relayed` bytes it counts. A
/// trace that names this node stops the walk only when `key` verifies its mac over those
/// bytes, and the copy counts as returning only when the bytes after them have the
/// `sha256` it was signed with. A trace a client wrote, nested or not, never verifies; a
/// real one lifted onto another message fails the digest (issue 22).
public struct ReturningCopyDetector {
    /// Copies nested deeper than this many leading bytes are not looked for: a round of
    /// a few nodes adds a few hundred bytes of traces and Received fields.
    public static let window = 64 * 1024

    private enum Phase {
        /// The leading bytes so far, until the walk decides.
        case walking([UInt8])
        /// A verified trace naming this node: hashing the original it was signed for.
        case hashing(path: [NodeID], expected: [UInt8], hasher: SHA256)
        case decided([NodeID]?)
    }

    private enum Walk {
        case needsMoreBytes
        case none
        /// A trace this node's key verifies, naming it; its original starts at `originalStart`.
        case candidate(path: [NodeID], originalStart: Int, digest: [UInt8])
    }

    private let nodeID: NodeID
    private let key: TraceKey
    private var phase = Phase.walking([])

    /// - Parameter key: the key this node signs with (the chain's, or its own).
    public init(nodeID: NodeID, key: TraceKey) {
        self.nodeID = nodeID
        self.key = key
    }

    /// Feeds the message's next bytes, as they go into the archive.
    public mutating func consume(_ bytes: some Collection<UInt8>) {
        switch phase {
        case .decided:
            return
        case .hashing(let path, let expected, var hasher):
            Self.update(&hasher, with: bytes)
            phase = .hashing(path: path, expected: expected, hasher: hasher)
        case .walking(var leading):
            phase = .decided(nil)  // leading is no longer shared: appending does not copy it
            leading.append(contentsOf: bytes)
            switch walk(leading) {
            case .needsMoreBytes where leading.count < Self.window:
                phase = .walking(leading)
            case .needsMoreBytes, .none:
                phase = .decided(nil)
            case .candidate(let path, let start, let digest):
                var hasher = SHA256()
                Self.update(&hasher, with: leading[start...])
                phase = .hashing(path: path, expected: digest, hasher: hasher)
            }
        }
    }

    /// The message ended: the path (oldest first, through the nesting copies) when it is
    /// this node's copy coming back, else nil.
    public mutating func finish() -> [NodeID]? {
        if case .walking = phase { consume([UInt8]()) }
        switch phase {
        case .walking, .decided(nil):
            return nil
        case .decided(let path):
            return path
        case .hashing(let path, let expected, let hasher):
            let result = hasher.finalize() == expected ? path : nil  // constant time (swift-crypto)
            phase = .decided(result)
            return result
        }
    }

    private func walk(_ leading: [UInt8]) -> Walk {
        var offset = 0
        var path: [NodeID] = []
        while offset < leading.count {
            let trace: LoopTrace, fieldLength: Int
            switch LoopTraceParser.scan(leading[offset...]) {
            case .found(let found, let length): (trace, fieldLength) = (found, length)
            case .needsMoreBytes: return .needsMoreBytes
            case .absent, .malformed: return .none
            }
            let relayedStart = offset + fieldLength
            guard trace.relayedHeaderLength <= Self.window - relayedStart else { return .none }
            let end = relayedStart + trace.relayedHeaderLength
            guard end <= leading.count else { return .needsMoreBytes }
            path = trace.path + path
            if trace.path.contains(nodeID), let digest = trace.originalDigest,
               key.authenticates(trace, relayedFields: leading[relayedStart..<end]) {
                return .candidate(path: path, originalStart: end, digest: digest)
            }
            offset = end
        }
        return .needsMoreBytes
    }

    private static func update(_ hasher: inout SHA256, with bytes: some Collection<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }) == nil {
            hasher.update(data: Array(bytes))
        }
    }
}
