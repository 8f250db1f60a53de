/// How a listener treats a trace field at the top of a message.
public enum TraceTrust: Sendable, Hashable {
    /// A listener without `trust_trace`: a trace is content the client sent.
    case untrusted
    /// `trust_trace` without a chain key: a well-formed trace is honoured because the
    /// listener admits only peers (`allowed_clients`), as before traces were signed.
    case byListener
    /// `trust_trace` with the chain key: a trace is honoured only when the key verifies
    /// its mac; any other is content.
    case byKey(TraceKey)
}

/// What the trace at the top of a message counts for, once the leading bytes are read.
public enum TraceStanding: Hashable, Sendable {
    /// The message enters the chain here: no trace counts (none, a listener without
    /// `trust_trace`, or a trace the chain's key does not verify).
    case entering
    /// A copy inside the chain, with the trace its last node wrote (stripped).
    case inChain(LoopTrace)
    /// A `trust_trace` listener without a chain key got a trace it cannot read.
    case unreadable(String)
}
