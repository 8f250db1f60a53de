import Metrics

/// The admin endpoint's own counters (docs/OPERATIONS.md, "Metrics"). Created once:
/// swift-metrics factories key on label and dimensions, not per call.
enum AdminMetrics {
    private static let refusals: [AdminRefusal: Counter] = Dictionary(uniqueKeysWithValues: AdminRefusal.allCases.map {
        ($0, Counter(label: "admin_requests_refused_total", dimensions: [("reason", $0.rawValue)]))
    })
    private static let connectionsRefused = Counter(label: "admin_connections_refused_total")

    static func refused(_ refusal: AdminRefusal) { refusals[refusal]?.increment() }
    static func connectionRefused() { connectionsRefused.increment() }
}
