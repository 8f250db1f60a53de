import Foundation
import Governance
import RouteEngine
import SearchQuery

/// Turns `[retention]` into the planner's `RetentionPolicy`, with every problem at its
/// place (`retention.rule[2] "newsletters"`).
enum RetentionCheck {
    /// `routeNames`: every `[[route]]` name in the file; `configured`: the valid routes.
    static func policy(_ table: NodeConfiguration.RetentionTable?, listeners: Set<String>, routeNames routes: Set<String>,
                       configured: [Route], searchIndex: Bool, problems: inout ConfigurationProblems) -> RetentionPolicy {
        var defaultKeep = RetentionPeriod.forever
        if let text = table?.default {
            do { defaultKeep = try RetentionPeriod(parsing: text) } catch { problems.error("retention", "default: \(error)") }
        }
        let entries = table?.rule ?? []
        problems.duplicates(entries.enumerated().map { ($0, $1.name) }, table: "retention.rule")
        var rules: [RetentionRule] = []
        var places: [String] = []
        for (index, entry) in entries.enumerated() {
            let at = NodeConfiguration.location("retention.rule", index, entry.name)
            guard let rule = rule(entry, at: at, listeners: listeners, routes: routes, searchIndex: searchIndex, problems: &problems)
            else { continue }
            if let first = rules.firstIndex(where: { sameMatch($0, rule) }) {
                if rules[first].keep != rule.keep {
                    problems.error(at, "conflict: \(places[first]) matches the same mail and keeps it \(rules[first].keep), this rule \(rule.keep)")
                } else {
                    problems.warning(at, "matches the same mail as \(places[first]) and keeps it as long: one of them is enough")
                }
            }
            rules.append(rule)
            places.append(at)
        }
        var policy = RetentionPolicy(defaultKeep: defaultKeep, rules: rules, routes: configured)
        policy.expireEvery = TimeInterval(problems.seconds(table?.expire_every_seconds, "expire_every_seconds", at: "retention", default: 86_400))
        return policy
    }

    private static func rule(_ entry: NodeConfiguration.RetentionRuleEntry, at: String, listeners: Set<String>, routes: Set<String>,
                             searchIndex: Bool, problems: inout ConfigurationProblems) -> RetentionRule? {
        var found = ConfigurationProblems()
        let name = entry.name ?? ""
        if name.isEmpty { found.error(at, "name is required") }
        var keep = RetentionPeriod.forever
        if let text = entry.keep {
            do { keep = try RetentionPeriod(parsing: text) } catch { found.error(at, "keep: \(error)") }
        } else {
            found.error(at, "keep is required (Nd, Ny or \"forever\")")
        }
        for (key, list) in [("senders", entry.senders), ("recipients", entry.recipients), ("listeners", entry.listeners), ("routes", entry.routes)]
        where list?.isEmpty == true {
            found.error(at, "\(key) is empty: leave it out, or list what the rule takes")
        }
        for listener in entry.listeners ?? [] where !listeners.contains(listener) {
            found.error(at, "listeners names unknown listener \"\(listener)\"")
        }
        for route in entry.routes ?? [] where !routes.contains(route) {
            found.error(at, "routes names unknown route \"\(route)\"")
        }
        let senders = RouteConfiguration.patterns(entry.senders, key: "senders", role: .sender, at: at, problems: &found)
        let recipients = RouteConfiguration.patterns(entry.recipients, key: "recipients", role: .recipient, at: at, problems: &found)
        if let query = entry.query {
            do {
                _ = try SearchQuery.parse(query)
            } catch {
                found.error(at, "query: \(error)")
            }
            if !searchIndex {
                found.error(at, "query needs the search index, and [archive] search_index = false")
            }
        }
        let rule = RetentionRule(name: name, keep: keep, senders: senders, recipients: recipients, listeners: Set(entry.listeners ?? []),
                                 routes: Set(entry.routes ?? []), query: entry.query)
        if rule.matchesNothingSpecific && !hasEmptyList(entry) {
            found.error(at, "no match key: give senders, recipients, listeners, routes or query ([retention] default is for the rest)")
        }
        problems.merge(found)
        return found.isEmpty ? rule : nil
    }

    private static func hasEmptyList(_ entry: NodeConfiguration.RetentionRuleEntry) -> Bool {
        [entry.senders, entry.recipients, entry.listeners, entry.routes].contains { $0?.isEmpty == true }
    }

    /// The same match keys, whatever their order.
    private static func sameMatch(_ a: RetentionRule, _ b: RetentionRule) -> Bool {
        Set(a.senders) == Set(b.senders) && Set(a.recipients) == Set(b.recipients) && a.listeners == b.listeners
            && a.routes == b.routes && a.query?.trimmingCharacters(in: .whitespaces) == b.query?.trimmingCharacters(in: .whitespaces)
    }
}
