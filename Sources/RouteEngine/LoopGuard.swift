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
