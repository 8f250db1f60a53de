import ForwardQueue
import RouteEngine

/// Loops one file can prove: a route forwarding to a connection aimed at one of this
/// node's own listeners, where a route that can take mail on that listener forwards again.
///
/// Loops through other nodes (a ring A → B → C → A) cannot be seen from one file; they
/// are what the trace header stops at run time, so they are not reported here.
enum StaticLoopCheck {
    struct LocalListener {
        var index: Int
        var name: String
        var host: String
        var port: Int
    }

    /// - Parameter localNames: host names that mean this machine (the node id, the host name).
    static func check(routes: [NodeConfiguration.Route], peers: [PeerSettings],
                      listeners: [LocalListener], localNames: Set<String>) -> ConfigurationProblems {
        var problems = ConfigurationProblems()
        let byName = Dictionary(peers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (index, route) in routes.enumerated() {
            let at = NodeConfiguration.location("route", index, route.name)
            var seen: Set<String> = []
            for name in route.forward ?? [] where seen.insert(name).inserted {
                guard let connection = byName[name],
                      let listener = ownListener(connection, listeners: listeners, localNames: localNames) else { continue }
                let target = "connection \"\(name)\" (\(connection.host):\(connection.port)) is this node's own \(NodeConfiguration.location("listener", listener.index, listener.name))"
                let onward = routes.enumerated().filter { _, other in
                    (other.listeners ?? []).isEmpty || other.listeners!.contains(listener.name)
                }.filter { !($0.element.forward ?? []).isEmpty }
                if let (otherIndex, other) = onward.first {
                    problems.error(at, "\(target), where \(NodeConfiguration.location("route", otherIndex, other.name)) forwards again: a loop")
                } else {
                    problems.warning(at, "\(target): this node archives its own copy a second time")
                }
            }
        }
        return problems
    }

    static func ownListener(_ connection: PeerSettings, listeners: [LocalListener], localNames: Set<String>) -> LocalListener? {
        let host = connection.host.lowercased()
        return listeners.first { listener in
            guard listener.port == connection.port else { return false }
            let listenerHost = listener.host.lowercased()
            if host == listenerHost || localNames.contains(host) { return true }
            if HostPort.isLoopback(host) { return HostPort.isLoopback(listenerHost) || HostPort.isWildcard(listenerHost) }
            return false
        }
    }
}
