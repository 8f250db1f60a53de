import Foundation
import RouteEngine

/// What a running node routes with, swapped whole by a reload (SIGHUP). Sessions read it
/// per RCPT and at DATA; a reload never changes a table under a reader.
public final class RoutingState: @unchecked Sendable {
    private let lock = NSLock()
    private var current: RoutingTable
    /// Signs this node's traces when the configuration gives no chain key: enough for the
    /// node to know its own copy coming back (`ReturningCopyDetector`), not for peers to
    /// verify. Made at start; a copy signed before a restart makes one more round.
    public let ownTraceKey = TraceKey.random()

    public init(routing: RoutingTable) { current = routing }

    public var routing: RoutingTable {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    public func replace(routing: RoutingTable) {
        lock.lock()
        current = routing
        lock.unlock()
    }
}
