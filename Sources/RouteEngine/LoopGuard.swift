/// Decides whether a node may forward a message it received, from what the message says
/// about the way it came. Only a trace the chain wrote (`TraceStanding.inChain`), or this
/// node's own signed copy found inside the content (`ReturningCopyDetector`), can stop a
/// copy: anything a client writes into its message is content (issue 22).
public enum LoopGuard {
    /// More Received fields than this and a copy inside the chain is taken to be looping
    /// (RFC 5321 §6.3 suggests a limit of at least 100 for delivery; a journal copy that
    /// crossed 50 relays is not travelling any more). A message entering the chain is not
    /// held to it: its Received fields are the client's, and a loop through an MTA meets
    /// that MTA's own limit.
    public static let maximumReceivedFields = 50

    /// - Parameters:
    ///   - standing: what the trace at the top of the message counts for (`TraceStripper.standing`).
    ///   - returningCopy: the path of this node's own copy found inside the content
    ///     (`ReturningCopyDetector.finish`), when the message enters here.
    ///   - nodeID: this node.
    ///   - receivedFields: the Received fields in the message's header section as received.
    ///   - maxHops: `[node] max_hops`.
    ///   - relayedHeaderLength: the bytes this node prepends after the trace on the copy
    ///     (the Received fields of the path, its own first), for the new trace's `relayed`.
    public static func verdict(standing: TraceStanding, returningCopy: [NodeID]? = nil, nodeID: NodeID,
                               receivedFields: Int, maxHops: Int, relayedHeaderLength: Int = 0) -> ForwardVerdict {
        var trace = LoopTrace(path: [])
        switch standing {
        case .unreadable(let reason):
            return .stop(.malformedTrace(reason))
        case .inChain(let incoming):
            if receivedFields > maximumReceivedFields { return .stop(.tooManyReceivedFields(receivedFields)) }
            trace = incoming
        case .entering:
            if let path = returningCopy { return .stop(.ownIDInPath(path)) }
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
