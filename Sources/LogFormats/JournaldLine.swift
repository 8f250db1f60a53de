import Logging

/// swift-log's text line without the timestamp (the journal stamps each entry), each line
/// prefixed with its syslog priority, `<N>` (sd-daemon(3)), so the journal stores the
/// priority: `journalctl -p warning` then finds warnings, errors and criticals. A message
/// of several lines gets the prefix on each, or the journal would take its later lines
/// as `info`.
public enum JournaldLine {
    /// The syslog priority of a level (RFC 5424: 2 critical … 7 debug); swift-log's
    /// `trace` has none of its own and is `debug`.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    static func lines(event: LogEvent, label: String, metadata: Logger.Metadata) -> String {
        let pretty = metadata.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let text = "\(label):\(pretty) [\(event.source)] \(event.message)"
        let prefix = "<\(priority(event.level))>"
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 + "\n" }.joined()
    }
}
