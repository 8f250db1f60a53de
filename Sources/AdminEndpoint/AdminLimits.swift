import NIOCore

/// Bounds on what one client can make the admin endpoint hold (issue 22, finding 3: a
/// client pipelining requests without reading raised the node's RSS by a gigabyte, and
/// idle admin connections took it to its open-file limit).
public struct AdminLimits: Sendable {
    /// A whole request (head and body) must arrive within this time of the connection
    /// going idle (accepted, or its last answer written); an idle keep-alive connection is
    /// closed after it too. Prometheus scrapes in well under a second.
    public var requestTimeout: TimeAmount = .seconds(10)
    /// Admin connections open at once; more are closed at accept. Scrapers, health checks
    /// and the CLI need a handful.
    public var maxConnections = 64
    /// Requests parsed ahead of the one being answered. The endpoint stops reading while
    /// an answer is unwritten, so this only bounds what one read can hold; no admin client
    /// pipelines deeply, so more closes the connection.
    public var maxPipelinedRequests = 16
    /// Request bodies are not used by any route; a larger one is refused with 413.
    public var maxBodyBytes = 64 * 1024

    public init() {}
}
