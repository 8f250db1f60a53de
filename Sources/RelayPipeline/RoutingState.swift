import DurableFiles
import RouteEngine

/// What a running node routes with, swapped whole by a reload (SIGHUP). A transaction
/// reads it once, at MAIL FROM, and keeps that table; a reload never changes a table under
/// a reader.
public final class RoutingState: Sendable {
    private let current: LockedValue<RoutingTable>
    /// Signs this node's traces when the configuration gives no chain key: enough for the
    /// node to know its own copy coming back (`ReturningCopyDetector`), not for peers to
    /// verify. Made at start; a copy signed before a restart makes one more round.
    public let ownTraceKey = TraceKey.random()

    public init(routing: RoutingTable) { current = LockedValue(routing) }

    public var routing: RoutingTable { current.withLock { $0 } }

    public func replace(routing: RoutingTable) {
        current.withLock { $0 = routing }
    }
}
