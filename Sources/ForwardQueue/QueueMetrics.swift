import Foundation
import Metrics

/// The metrics of one connection's queue, created once per connection (stable labels).
struct QueueMetrics: Sendable {
    let depth: Gauge
    let bytes: Gauge
    let oldestAge: Gauge
    let held: Gauge
    let peerUp: Gauge
    let dropped: Counter
    private let attempts: [DeliveryResultLabel: Counter]

    /// The outcome label of `forward_delivery_attempts_total`.
    enum DeliveryResultLabel: String, CaseIterable {
        case delivered, deferred, rejected, sessionFailed = "session_failed", unreadable
    }

    init(connection: String) {
        let dimensions = [("connection", connection)]
        depth = Gauge(label: "forward_queue_depth", dimensions: dimensions)
        bytes = Gauge(label: "forward_queue_bytes", dimensions: dimensions)
        oldestAge = Gauge(label: "forward_queue_oldest_age_seconds", dimensions: dimensions)
        held = Gauge(label: "forward_queue_held", dimensions: dimensions)
        peerUp = Gauge(label: "forward_peer_up", dimensions: dimensions)
        dropped = Counter(label: "forward_queue_dropped_total", dimensions: dimensions)
        var attempts: [DeliveryResultLabel: Counter] = [:]
        for label in DeliveryResultLabel.allCases {
            attempts[label] = Counter(label: "forward_delivery_attempts_total", dimensions: dimensions + [("outcome", label.rawValue)])
        }
        self.attempts = attempts
    }

    func attempt(_ label: DeliveryResultLabel) { attempts[label]?.increment() }

    func update(_ queue: PeerQueue, now: Date) {
        depth.record(queue.depth)
        bytes.record(Int64(clamping: queue.bytes))
        held.record(queue.heldCount)
        oldestAge.record(queue.oldestEnqueuedAt.map { now.timeIntervalSince($0) } ?? 0)
        peerUp.record(queue.peerState == .up ? 1 : 0)
    }
}
