import Foundation

/// Builds the trace header of RFC 5321 §4.4:
/// `Received: from <helo> ([ip]) by <node> (archiverelay) with ESMTPS id <id>; <date>`.
enum ReceivedHeader {
    /// The `with` protocol names of RFC 3848 and RFC 6531 §3.7.3.
    static func protocolName(ehlo: Bool, tls: Bool, utf8: Bool) -> String {
        if utf8 { return tls ? "UTF8SMTPS" : "UTF8SMTP" }
        if !ehlo { return "SMTP" }
        return tls ? "ESMTPS" : "ESMTP"
    }

    static func make(helo: String, clientIP: String, node: String, protocolName: String,
                     tls: String?, id: String, date: Date) -> String {
        let tlsComment = tls.map { " (\($0))" } ?? ""
        // HELO text is client-supplied; it was parsed free of control octets, but is folded
        // into a comment-safe form so it cannot close the comment or add fields.
        let unsafe = helo.utf8.contains { $0 == UInt8(ascii: "(") || $0 == UInt8(ascii: ")") || $0 == UInt8(ascii: "\\") || $0 == 0x0D || $0 == 0x0A }
        let safeHelo = unsafe
            ? String(helo.map { "()\\\r\n".contains($0) ? "_" : $0 }) : helo
        return "Received: from \(safeHelo) ([\(clientIP)])\r\n"
            + "\tby \(node) (archiverelay) with \(protocolName)\(tlsComment) id \(id);\r\n"
            + "\t\(rfc5322Date(date))\r\n"
    }

    /// RFC 5322 §3.3 date-time in UTC: `Sun, 22 Nov 2026 08:10:00 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(parts.tm_wday)]), \(parts.tm_mday) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }
}
