import Metrics

/// The admin endpoint's own counters (docs/OPERATIONS.md, "Metrics"). Created once:
/// swift-metrics factories key on label and dimensions, not per call.
enum AdminMetrics {
    private static let refusals: [AdminRefusal: Counter] = Dictionary(uniqueKeysWithValues: AdminRefusal.allCases.map {
        ($0, Counter(label: "admin_requests_refused_total", dimensions: [("reason", $0.rawValue)]))
    })
    private static let unauthorized = Counter(label: "admin_requests_refused_total", dimensions: [("reason", "token")])
    private static let forbidden = Counter(label: "admin_requests_refused_total", dimensions: [("reason", "role")])

    static func refused(_ refusal: AdminRefusal) { refusals[refusal]?.increment() }
    static func refusedToken() { unauthorized.increment() }
    static func refusedRole() { forbidden.increment() }
}
