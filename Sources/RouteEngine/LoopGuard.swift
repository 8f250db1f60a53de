/// Decides whether a node may forward a message it received, from what the message says
/// about the way it came.
public enum LoopGuard {
    /// More Received fields than this and the message is taken to be looping
    /// (RFC 5321 §6.3 suggests a limit of at least 100 for delivery; a journal copy that
    /// crossed 50 relays is not travelling any more).
    public static let maximumReceivedFields = 50

    /// - Parameters:
    ///   - scan: the trace scan of the message's leading bytes (nil: not scanned, none).
    ///   - trustedListener: the listener has `trust_trace`; elsewhere any trace is ignored.
    ///   - nodeID: this node.
    ///   - receivedFields: the Received fields in the message's header section as received.
    ///   - maxHops: `[node] max_hops`.
    ///   - relayedHeaderLength: the bytes this node prepends after the trace on the copy
    ///     (the Received fields of the path, its own first), for the new trace's `relayed`.
    public static func verdict(scan: LoopTraceScan?, trustedListener: Bool, nodeID: NodeID,
                               receivedFields: Int, maxHops: Int, relayedHeaderLength: Int = 0) -> ForwardVerdict {
        if receivedFields > maximumReceivedFields { return .stop(.tooManyReceivedFields(receivedFields)) }
        var trace = LoopTrace(path: [])
        if trustedListener, let scan {
            switch scan {
            case .found(let incoming, _):
                trace = incoming
            case .malformed(let reason):
                return .stop(.malformedTrace(reason))
            case .needsMoreBytes:
                return .stop(.malformedTrace("the message ends inside its first header field"))
            case .absent:
                break
            }
        }
        if trace.path.contains(nodeID) { return .stop(.ownIDInPath(trace.path)) }
        if trace.hops + 1 > maxHops { return .stop(.tooManyHops(trace.hops + 1, limit: maxHops)) }
        return .forward(trace.forwarded(by: nodeID, relayedHeaderLength: relayedHeaderLength))
    }
}

extension LoopGuard {
    /// How many leading bytes of a message on a listener without `trust_trace` are kept
    /// for `returningCopyPath`.
    public static let returningCopyWindow = 64 * 1024

    /// On a listener without `trust_trace` a trace is content, yet one shape of content
    /// is this node's own copy coming back: a peer whose connection aims at this node's
    /// journal listener (not its HA listener) hands on what it took there, this node's
    /// copy (trace, relayed fields, original), behind its own trace and relayed fields.
    /// When `leading` starts with such nested copies (each a well-formed trace with
    /// `relayed` > 0, as every node prepends its Received field, followed by that many
    /// bytes) and an inner one names this node, the paths, oldest first, are returned: the
    /// copy has made its round. The outermost trace is never taken for this node's own
    /// (a client may put any trace first), and a trace with no relayed fields was never
    /// a node's copy, so a forged trace alone cannot stop forwarding here.
    public static func returningCopyPath(_ leading: [UInt8], nodeID: NodeID) -> [NodeID]? {
        var offset = 0
        var path: [NodeID] = []
        while offset < leading.count, case .found(let trace, let fieldLength) = LoopTraceParser.scan(leading[offset...]) {
            path = trace.path + path
            if offset > 0, trace.path.contains(nodeID) { return path }
            guard trace.relayedHeaderLength > 0 else { return nil }
            offset += fieldLength + trace.relayedHeaderLength
        }
        return nil
    }
}

/// Whether a received message may be forwarded.
public enum ForwardVerdict: Hashable, Sendable {
    /// Forward, with this trace as the copy's first header field.
    case forward(LoopTrace)
    /// Archive only (if the route archives); never forward.
    case stop(LoopStopReason)
}

/// Why a message is not forwarded, in words for logs and metrics.
public enum LoopStopReason: Hashable, Sendable, CustomStringConvertible {
    case ownIDInPath([NodeID])
    case tooManyHops(Int, limit: Int)
    case tooManyReceivedFields(Int)
    case malformedTrace(String)

    /// A stable metric label.
    public var label: String {
        switch self {
        case .ownIDInPath: return "loop"
        case .tooManyHops: return "max_hops"
        case .tooManyReceivedFields: return "received_fields"
        case .malformedTrace: return "malformed_trace"
        }
    }

    public var description: String {
        switch self {
        case .ownIDInPath(let path): return "loop: own id in path \(path.map(\.value).joined(separator: ","))"
        case .tooManyHops(let hops, let limit): return "too many hops (\(hops) > max_hops \(limit))"
        case .tooManyReceivedFields(let n): return "too many Received headers (\(n) > \(LoopGuard.maximumReceivedFields))"
        case .malformedTrace(let reason): return "malformed trace header: \(reason)"
        }
    }
}
