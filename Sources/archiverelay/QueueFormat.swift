import ForwardQueue
import Foundation
import OperatorText

/// How `queue dump` and `queue show` print a snapshot. Connection names, envelopes and
/// the peers' error texts are escaped for the terminal (`TerminalText`).
enum QueueFormat {
    static func text(_ snapshot: QueueSnapshot) -> TerminalText {
        var out: TerminalText = ""
        for c in snapshot.connections {
            out += "connection \(c.name)\(c.configured ? "" : " (not configured)"): depth \(c.depth), held \(c.held), in flight \(c.inFlight), "
            out += "bytes \(c.bytes), oldest \(age(c.oldestAgeSeconds)), peer \(c.peerState.rawValue)"
            if let probe = c.nextProbe { out += ", next probe \(CommandLineTime.format(probe))" }
            if c.dropped > 0 { out += ", dropped when full \(c.dropped)" }
            out += ", last error: \(c.lastError ?? "-")\n"
        }
        for fault in snapshot.faults { out += "journal fault: \(fault)\n" }
        for e in snapshot.entries {
            let next = e.held ? "held" : e.inFlight ? "in flight" : e.nextAttempt.map(CommandLineTime.format) ?? "now"
            out += "\(e.id) \(e.connection) size \(e.size) attempts \(e.attempts) next \(next) age \(age(e.ageSeconds)) error: \(e.lastError ?? "-")\n"
        }
        return out
    }

    /// One JSON object per line: the connections (`"type":"connection"`), then the entries.
    static func jsonLines(_ snapshot: QueueSnapshot) throws -> [String] {
        try snapshot.connections.map { try line($0, type: "connection") } + snapshot.entries.map { try line($0, type: "entry") }
    }

    static func details(_ e: QueueSnapshot.Entry) -> TerminalText {
        """
        id:          \(e.id)
        connection:  \(e.connection)
        state:       \(e.held ? "held" : e.inFlight ? "in flight" : "waiting")
        message:     \(e.message)
        size:        \(e.size)
        sender:      <\(e.sender)>
        recipients:  \(e.recipients.map { "<\($0)>" }.joined(separator: ", "))
        trace bytes: \(e.prefixBytes)
        enqueued:    \(CommandLineTime.format(e.enqueuedAt)) (\(age(e.ageSeconds)) ago)
        attempts:    \(e.attempts)
        next:        \(e.nextAttempt.map(CommandLineTime.format) ?? "-")
        last error:  \(e.lastError ?? "-")

        """
    }

    private static func line(_ value: some Encodable, type: String) throws -> String {
        let data = try QueueJSON.encoder().encode(value)
        guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return "{}" }
        object["type"] = type
        let bytes = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: bytes, as: UTF8.self)
    }

    static func age(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
