import Foundation
import RouteEngine

/// The routing table a running node uses, swapped whole by a reload (SIGHUP). Sessions
/// read it per RCPT and at DATA; a reload never changes a table under a reader.
final class RouteStore: @unchecked Sendable {
    private let lock = NSLock()
    private var current: RoutingTable

    init(_ table: RoutingTable) { current = table }

    var table: RoutingTable {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    func replace(with table: RoutingTable) {
        lock.lock()
        current = table
        lock.unlock()
    }
}
