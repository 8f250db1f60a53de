import RouteEngine

/// `[node] trace_secret` and `trace_key_file`: the chain's trace key, or every problem with
/// it, and a warning when a node that is part of a chain has none (docs/CONFIG.md).
enum TraceKeyCheck {
    static let howToMake = "make one with `openssl rand -hex 32` and give every node of the chain the same"

    /// - Parameter chained: the node forwards or takes copies (a connection, a `trust_trace` listener).
    static func check(_ node: NodeConfiguration.Node?, chained: Bool, environment: ConfigurationCheck.Environment,
                      problems: inout ConfigurationProblems) -> TraceKey? {
        let needed = "at least \(2 * TraceKey.minimumLength) hex digits (\(TraceKey.minimumLength) bytes)"
        switch (node?.trace_secret, node?.trace_key_file) {
        case (nil, nil):
            if chained {
                problems.warning("node", "no trace_secret or trace_key_file: peers cannot verify this node's traces, so a trust_trace "
                    + "listener honours any trace its allowed clients send; \(howToMake) (docs/CONFIG.md)")
            }
            return nil
        case (.some, .some):
            problems.error("node", "set trace_secret or trace_key_file, not both")
            return nil
        case (let secret?, nil):
            guard let key = TraceKey(hex: secret, scope: .chain) else {
                problems.error("node", "trace_secret must be \(needed); \(howToMake)")
                return nil
            }
            return key
        case (nil, let path?):
            if let why = environment.unreadable(path) {
                problems.error("node", "trace_key_file \(path): \(why)")
                return nil
            }
            guard let text = environment.contents(path), let key = TraceKey(hex: text, scope: .chain) else {
                problems.error("node", "trace_key_file \(path) must hold \(needed); \(howToMake)")
                return nil
            }
            return key
        }
    }
}
