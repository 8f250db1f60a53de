import RouteEngine

/// Turns the `[[route]]` tables into the engine's routes, checking names against the
/// listeners and connections they refer to.
enum RouteConfiguration {
    static func validate(_ entries: [NodeConfiguration.Route], listeners: Set<String>, connections: Set<String>)
        -> ([Route], ConfigurationProblems) {
        var problems = ConfigurationProblems()
        problems.duplicates(entries.enumerated().map { ($0, $1.name) }, table: "route")
        var routes: [Route] = []
        for (index, entry) in entries.enumerated() {
            let at = NodeConfiguration.location("route", index, entry.name)
            let (route, found) = validate(entry, at: at, listeners: listeners, connections: connections)
            problems.merge(found)
            if let route { routes.append(route) }
        }
        return (routes, problems)
    }

    static func validate(_ entry: NodeConfiguration.Route, at: String, listeners: Set<String>, connections: Set<String>)
        -> (Route?, ConfigurationProblems) {
        var problems = ConfigurationProblems()
        let name = entry.name ?? ""
        if name.isEmpty { problems.error(at, "name is required") }
        for listener in entry.listeners ?? [] where !listeners.contains(listener) {
            problems.error(at, "listeners names unknown listener \"\(listener)\"")
        }
        let senders = patterns(entry.senders, key: "senders", role: .sender, at: at, problems: &problems)
        let recipients = patterns(entry.recipients, key: "recipients", role: .recipient, at: at, problems: &problems)
        var forward: [String] = []
        for connection in entry.forward ?? [] {
            if !connections.contains(connection) { problems.error(at, "forward names unknown connection \"\(connection)\"") }
            if forward.contains(connection) { problems.warning(at, "forward names connection \"\(connection)\" twice") } else { forward.append(connection) }
        }
        var action = RouteAction(archive: entry.archive ?? true, forward: forward)
        action.ackAfterForward = problems.choice(entry.ack_after_forward, "ack_after_forward", at: at, default: action.ackAfterForward)
        action.ackTimeoutSeconds = problems.seconds(entry.ack_timeout_seconds, "ack_timeout_seconds", at: at, default: action.ackTimeoutSeconds)
        if !action.archive && action.forward.isEmpty {
            problems.error(at, "archive = false and no forward: every message it takes would be accepted and lost")
        }
        if action.ackAfterForward != .afterArchive && action.forward.isEmpty {
            problems.warning(at, "ack_after_forward = \"\(action.ackAfterForward.rawValue)\" has no effect without forward")
        }
        let route = Route(name: name, listeners: Set(entry.listeners ?? []), senders: senders, recipients: recipients, action: action)
        return (problems.isEmpty ? route : nil, problems)
    }

    static func patterns(_ texts: [String]?, key: String, role: AddressPattern.Role, at: String,
                                 problems: inout ConfigurationProblems) -> [AddressPattern] {
        var result: [AddressPattern] = []
        for text in texts ?? [] {
            do {
                result.append(try AddressPattern(parsing: text, role: role))
            } catch {
                problems.error(at, "\(key): \(error)")
            }
        }
        return result
    }
}
