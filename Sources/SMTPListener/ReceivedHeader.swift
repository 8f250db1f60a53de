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
        // HELO text is client-supplied; it was parsed free of control octets, but is folded
        // into a comment-safe form so it cannot close the comment or add fields.
        let unsafe = helo.utf8.contains { $0 == UInt8(ascii: "(") || $0 == UInt8(ascii: ")") || $0 == UInt8(ascii: "\\") || $0 == 0x0D || $0 == 0x0A }
        let safeHelo = unsafe
            ? String(helo.map { "()\\\r\n".contains($0) ? "_" : $0 }) : helo
        // Appended into one reserved string: this runs once per message.
        var header = String()
        header.reserveCapacity(160 + safeHelo.utf8.count + node.utf8.count)
        header += "Received: from "
        header += safeHelo
        header += " (["
        appendAddressLiteral(clientIP, to: &header)
        header += "])\r\n\tby "
        header += node
        header += " (archiverelay) with "
        header += protocolName
        if let tls {
            header += " ("
            header += tls
            header += ")"
        }
        header += " id "
        header += id
        header += ";\r\n\t"
        appendRFC5322Date(date, to: &header)
        header += "\r\n"
        return header
    }

    /// The client's address as RFC 5321 §4.1.3 writes it between the brackets: IPv4
    /// dotted, IPv6 behind the `IPv6:` tag. A dual-stack listener (`[::]`) sees IPv4
    /// clients as IPv4-mapped IPv6 (`::ffff:192.0.2.1`); they are shown as the IPv4
    /// address they are, as Postfix does.
    static func appendAddressLiteral(_ ip: String, to text: inout String) {
        guard ip.utf8.contains(UInt8(ascii: ":")) else {
            text += ip  // IPv4, the common case: nothing to look at
            return
        }
        let mapped = "::ffff:"
        if ip.utf8.count > mapped.utf8.count, ip.lowercased().hasPrefix(mapped) {
            let rest = ip.dropFirst(mapped.count)
            if !rest.contains(":") {
                text += rest
                return
            }
        }
        text += "IPv6:"
        text += ip
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// RFC 5322 §3.3 date-time in UTC: `Sun, 22 Nov 2026 08:10:00 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        var text = String()
        appendRFC5322Date(date, to: &text)
        return text
    }

    static func appendRFC5322Date(_ date: Date, to text: inout String) {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ v: Int32) {
            if v < 10 { text += "0" }
            text += String(v)
        }
        text += days[Int(parts.tm_wday)]
        text += ", "
        text += String(parts.tm_mday)
        text += " "
        text += months[Int(parts.tm_mon)]
        text += " "
        text += String(parts.tm_year + 1900)
        text += " "
        two(parts.tm_hour)
        text += ":"
        two(parts.tm_min)
        text += ":"
        two(parts.tm_sec)
        text += " +0000"
    }
}
