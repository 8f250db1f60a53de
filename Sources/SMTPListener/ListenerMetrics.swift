import Metrics

/// The listener's metric objects, made once per listener (labels are stable, objects cached).
struct ListenerMetrics: Sendable {
    let connectionsTotal: Counter
    let connectionsOpen: Meter
    let rejectedNotAllowed: Counter
    let rejectedTooMany: Counter
    let rejectedProxy: Counter
    let messagesReceived: Counter
    let bytesReceived: Counter
    let timeouts: Counter
    /// By reply class: 2xx, 3xx, 4xx, 5xx.
    private let replies: [Counter]

    init(listener: String) {
        let dims = [("listener", listener)]
        connectionsTotal = Counter(label: "smtp_connections_total", dimensions: dims)
        connectionsOpen = Meter(label: "smtp_connections_open", dimensions: dims)
        func rejected(_ reason: String) -> Counter {
            Counter(label: "smtp_connections_rejected_total", dimensions: dims + [("reason", reason)])
        }
        rejectedNotAllowed = rejected("not_allowed")
        rejectedTooMany = rejected("too_many")
        rejectedProxy = rejected("proxy")
        messagesReceived = Counter(label: "smtp_messages_received_total", dimensions: dims)
        bytesReceived = Counter(label: "smtp_message_bytes_received_total", dimensions: dims)
        timeouts = Counter(label: "smtp_timeouts_total", dimensions: dims)
        replies = (2...5).map { digit in
            Counter(label: "smtp_replies_total", dimensions: dims + [("class", "\(digit)xx")])
        }
    }

    /// Counts a reply by its class (one lookup per reply, no label string built).
    func countReply(code: Int) {
        let index = code / 100 - 2
        if replies.indices.contains(index) { replies[index].increment() }
    }
}
