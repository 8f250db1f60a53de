import RouteEngine

/// `[[route]]` entries (docs/CONFIG.md): decoded as written, validated into a `RoutingTable`.
struct RouteConfiguration: Codable, Sendable {
    var name: String
    /// Listener names; missing or empty: every listener.
    var listeners: [String]?
    var senders: [String]?
    var recipients: [String]?
    var archive: Bool?
    var forward: [String]?
    /// `none` (default) or `one`.
    var ack_after_forward: String?
    var ack_timeout_seconds: Int?
}

extension NodeConfiguration {
    /// The routes as the route engine wants them, or every problem found, each located.
    func routingTable() throws -> RoutingTable {
        var problems: [String] = []
        var routes: [Route] = []
        let listenerNames = Set((listener ?? []).map(\.name))
        var seen = Set<String>()
        for (index, entry) in (route ?? []).enumerated() {
            let at = "route[\(index)] \"\(entry.name)\""
            if !seen.insert(entry.name).inserted { problems.append("\(at): another route has the same name") }
            for name in entry.listeners ?? [] where !listenerNames.contains(name) {
                problems.append("\(at): listeners names unknown listener \"\(name)\"")
            }
            func patterns(_ texts: [String]?, _ key: String) -> [AddressPattern] {
                (texts ?? []).compactMap { text in
                    guard let pattern = AddressPattern(text) else {
                        problems.append("\(at): \(key) has \"\(text)\", not an address, @domain, *.domain, * or <>")
                        return nil
                    }
                    return pattern
                }
            }
            let senders = patterns(entry.senders, "senders"), recipients = patterns(entry.recipients, "recipients")
            let archive = entry.archive ?? true
            let forward = entry.forward ?? []
            if !forward.isEmpty {
                // The forward queue (issue 4) is not part of this build: a route that names
                // connections would silently keep copies from its peers.
                problems.append("\(at): forward = \(forward) needs the forward queue, which this build does not have yet; archive only")
            }
            if !archive && forward.isEmpty { problems.append("\(at): archive = false and no forward: the route would drop mail") }
            var acknowledgement = ForwardAcknowledgement.queued
            switch entry.ack_after_forward ?? "none" {
            case "none": break
            case "one":
                let timeout = entry.ack_timeout_seconds ?? 10
                if timeout <= 0 { problems.append("\(at): ack_timeout_seconds must be > 0") }
                if forward.isEmpty { problems.append("\(at): ack_after_forward = \"one\" without forward") }
                acknowledgement = .onePeer(timeout: .seconds(timeout))
            case let other:
                problems.append("\(at): ack_after_forward must be \"none\" or \"one\", got \"\(other)\"")
            }
            routes.append(Route(name: entry.name, listeners: Set(entry.listeners ?? []), senders: senders, recipients: recipients,
                                archive: archive, forward: forward, acknowledgement: acknowledgement))
        }
        guard problems.isEmpty else { throw ConfigurationError(path: nil, problems: problems) }
        return RoutingTable(routes: routes)
    }

    /// Every problem of the file at once: listeners, routes, node settings.
    func allProblems() -> [String] {
        var problems: [String] = []
        do { _ = try listenerConfigurations() } catch let error as ConfigurationError { problems += error.problems } catch {
            problems.append("\(error)")
        }
        do { _ = try routingTable() } catch let error as ConfigurationError { problems += error.problems } catch {
            problems.append("\(error)")
        }
        if let admin = node?.admin, HostPort.parse(admin) == nil { problems.append("node: admin must be HOST:PORT, got \(admin)") }
        if let id = node?.id, !TraceHeader.isValidNodeID(id) {
            problems.append("node: id \"\(id)\" must be 1-64 of A-Z a-z 0-9 . _ - (it travels in trace headers)")
        }
        if let archive {
            if let level = archive.compression_level, !(1...19).contains(level) { problems.append("archive: compression_level must be 1...19") }
            if let bytes = archive.segment_max_bytes, bytes < 1 << 20 { problems.append("archive: segment_max_bytes must be at least 1 MiB") }
            if let age = archive.segment_max_age_seconds, age <= 0 { problems.append("archive: segment_max_age_seconds must be > 0") }
        }
        return problems
    }
}
