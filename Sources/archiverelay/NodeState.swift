import DurableFiles
import RouteEngine

/// What a running node routes with, swapped whole by a reload (SIGHUP). Sessions read it
/// per RCPT and at DATA; a reload never changes a table under a reader.
final class NodeState: Sendable {
    private let current: LockedValue<RoutingTable>
    /// Signs this node's traces when the configuration gives no chain key: enough for the
    /// node to know its own copy coming back (`ReturningCopyDetector`), not for peers to
    /// verify. Made at start; a copy signed before a restart makes one more round.
    let ownTraceKey = TraceKey.random()

    init(routing: RoutingTable) { current = LockedValue(routing) }

    var routing: RoutingTable { current.withLock { $0 } }

    func replace(routing: RoutingTable) {
        current.withLock { $0 = routing }
    }
}
