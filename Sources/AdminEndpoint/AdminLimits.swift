import NIOCore

/// Bounds on what one client can make the admin endpoint hold (issue 22, finding 3: a
/// client pipelining requests without reading raised the node's RSS by a gigabyte, and
/// idle admin connections took it to its open-file limit).
///
/// Hummingbird answers one request of a connection at a time and reads ahead only a few
/// requests while an answer is unwritten (NIOAsyncChannel's backpressure), and caps the
/// request head (80 KiB of fields); these are what the endpoint sets on top of that.
public struct AdminLimits: Sendable {
    /// A connection with no request in progress for this long is closed (idle keep-alive
    /// connections, and clients that connect and send nothing). Prometheus scrapes in well
    /// under a second.
    public var idleTimeout: TimeAmount = .seconds(10)
    /// Admin connections open at once; while this many are open, more wait in the listen
    /// backlog until one closes. Scrapers, health checks and the CLI need a handful.
    public var maxConnections = 64
    /// Request bodies are not used by any route: a declared larger one is refused with 413
    /// before any of it is read.
    public var maxBodyBytes = 64 * 1024

    public init() {}
}
