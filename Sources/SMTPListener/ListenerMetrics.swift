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
    private let replies: [String: Counter]

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
        var replies: [String: Counter] = [:]
        for klass in ["2xx", "3xx", "4xx", "5xx"] {
            replies[klass] = Counter(label: "smtp_replies_total", dimensions: dims + [("class", klass)])
        }
        self.replies = replies
    }

    func countReply(_ classLabel: String) {
        replies[classLabel]?.increment()
    }
}
