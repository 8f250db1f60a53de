/// Whether a node may forward a message, from what the message says about its journey.
public enum ForwardVerdict: Hashable, Sendable {
    /// Forward, with this trace header at the top of every copy.
    case forward(TraceHeader)
    /// Do not forward (archive as the route says, answer 250 all the same, so the sender
    /// does not retry forever): why, for the log.
    case stop(reason: String)
}

/// Loop detection for chains and rings (docs/ARCHITECTURE.md, "Loop detection").
public enum LoopGuard {
    /// RFC 5321 §6.3 suggests treating a message with a hundred Received fields as looping;
    /// a journal chain has no business anywhere near 50.
    public static let maximumReceivedHeaders = 50

    /// - Parameters:
    ///   - incoming: the trace header the message arrived with, if any.
    ///   - trusted: whether it came through a listener with `trust_trace` (the HA port);
    ///     elsewhere a trace header is a client's claim and is ignored.
    ///   - receivedHeaders: `Received:` fields in the message's header section.
    public static func verdict(incoming: TraceHeader?, trusted: Bool, nodeID: String,
                               receivedHeaders: Int, maximumHops: Int) -> ForwardVerdict {
        let trace = trusted ? incoming : nil
        let path = trace?.path ?? []
        if path.contains(nodeID) {
            return .stop(reason: "loop: this node (\(nodeID)) is already in the path \(path.joined(separator: ","))")
        }
        let hops = trace?.hops ?? 0
        if hops + 1 > maximumHops {
            return .stop(reason: "too many relay hops (\(hops), max_hops \(maximumHops))")
        }
        if receivedHeaders > maximumReceivedHeaders {
            return .stop(reason: "too many Received headers (\(receivedHeaders) > \(maximumReceivedHeaders))")
        }
        return .forward(TraceHeader(hops: hops + 1, path: path + [nodeID]))
    }
}

/// Counts `Received:` fields in a message's header section (up to the first empty line).
public enum ReceivedHeaders {
    public static func count(in message: some Collection<UInt8>) -> Int {
        var count = 0
        var lineStart = true
        var line: [UInt8] = []
        for byte in message {
            if lineStart {
                if byte == 13 || byte == 10 { return count }  // the empty line ends the header section
                lineStart = false
                line.removeAll(keepingCapacity: true)
            }
            if byte == 10 {
                lineStart = true
                continue
            }
            if line.count < 9 {
                line.append(byte >= 0x41 && byte <= 0x5A ? byte + 32 : byte)
                if line.count == 9 && line == Array("received:".utf8) { count += 1 }
            }
        }
        return count
    }
}
