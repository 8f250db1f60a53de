import DurableFiles
import Foundation

/// Export formats for `archive export`.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// One mboxrd file: each message preceded by a `From ` line, lines matching
    /// `^>*From ` quoted with one more `>`, and followed by an empty line.
    case mbox
    /// A directory with one `<archive-id>.eml` file per original, bytes exactly as stored
    /// (after its `X-Archiverelay-Arrival` fields with `withEnvelope`).
    case eml
}

extension ArchiveReader {
    /// Writes the matching messages to `path`; returns how many were exported. An export
    /// never writes inside the data directory and never through a symlink, and replaces an
    /// existing file (by rename, leaving its old inode untouched) only with `overwrite`:
    /// it is a read-only command, run against a live archive. `withEnvelope` writes one
    /// `ArrivalHeaderField` per arrival before each original.
    public func export(_ filter: ArchiveFilter, format: ExportFormat, to path: String, overwrite: Bool = false,
                       withEnvelope: Bool = false) throws -> Int {
        try ExportDestination.refuseInside(dataDirectory: layout.dataDirectory, path)
        if format == .mbox, !overwrite, ExportDestination.exists(path) { throw ExportRefusal.exists(path: path) }
        return try export(try list(filter), format: format, to: path, overwrite: overwrite, withEnvelope: withEnvelope)
    }

    /// Exports exactly `entries` (a search's hits), in their order.
    public func export(_ entries: [ArchiveIndexEntry], format: ExportFormat, to path: String, overwrite: Bool = false,
                       withEnvelope: Bool = false) throws -> Int {
        try ExportDestination.refuseInside(dataDirectory: layout.dataDirectory, path)
        if format == .mbox, !overwrite, ExportDestination.exists(path) { throw ExportRefusal.exists(path: path) }
        switch format {
        case .eml:
            try FilePermissions.createDirectories(path)
            let files = entries.map { path + "/" + $0.id + ".eml" }
            if !overwrite, let taken = files.first(where: ExportDestination.exists) { throw ExportRefusal.exists(path: taken) }
            for (entry, file) in zip(entries, files) {
                let original = try original(entry)
                let bytes = try envelopeFields(entry, original: original, wanted: withEnvelope) + original
                try ExportDestination.write(to: file, overwrite: overwrite) { try $0.write(bytes[...], at: 0) }
            }
        case .mbox:
            try ExportDestination.write(to: path, overwrite: overwrite) { file in
                var offset = 0
                for entry in entries {
                    let original = try original(entry)
                    let fields = try envelopeFields(entry, original: original, wanted: withEnvelope)
                    let chunk = Mbox.entry(from: entry, original: original, prefix: fields)
                    try file.write(chunk[...], at: offset)
                    offset += chunk.count
                }
            }
        }
        return entries.count
    }

    /// The `X-Archiverelay-Arrival` fields of `entry`'s arrivals, in `original`'s line end;
    /// nothing unless `wanted`.
    private func envelopeFields(_ entry: ArchiveIndexEntry, original: [UInt8], wanted: Bool) throws -> [UInt8] {
        guard wanted else { return [] }
        return ArrivalHeaderField.block(for: try arrivals(of: entry), lineEnding: ArrivalHeaderField.lineEnding(of: original))
    }
}

/// mboxrd framing (the reversible variant: unquoting removes exactly one `>`).
public enum Mbox {
    /// `prefix`: header fields written before the original (they hold no line that needs quoting).
    public static func entry(from entry: ArchiveIndexEntry, original: [UInt8], prefix: [UInt8] = []) -> [UInt8] {
        let sender = entry.sender.isEmpty ? "MAILER-DAEMON" : entry.sender
        var out = Array("From \(sender) \(asctime(entry.receivedAt))\n".utf8)
        out.append(contentsOf: quote(prefix + original))
        if out.last != 0x0A { out.append(0x0A) }
        out.append(0x0A)
        return out
    }

    /// Prefixes `>` to every line that starts with zero or more `>` then `From `.
    public static func quote(_ message: [UInt8]) -> [UInt8] {
        let from = Array("From ".utf8)
        var out = [UInt8]()
        out.reserveCapacity(message.count + 64)
        var lineStart = true
        var i = 0
        while i < message.count {
            if lineStart {
                var j = i
                while j < message.count && message[j] == UInt8(ascii: ">") { j += 1 }
                if message.count - j >= from.count && Array(message[j..<(j + from.count)]) == from {
                    out.append(UInt8(ascii: ">"))
                }
            }
            out.append(message[i])
            lineStart = message[i] == 0x0A
            i += 1
        }
        return out
    }

    /// The From_ line's time, asctime(3) in UTC as RFC 4155 has it: `Mon Nov  2 09:05:07 2026`
    /// (the day of the month padded with a space to two characters).
    static func asctime(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32, pad: String) -> String { value < 10 ? pad + String(value) : String(value) }
        return "\(days[Int(parts.tm_wday)]) \(months[Int(parts.tm_mon)]) \(two(parts.tm_mday, pad: " ")) "
            + "\(two(parts.tm_hour, pad: "0")):\(two(parts.tm_min, pad: "0")):\(two(parts.tm_sec, pad: "0")) \(parts.tm_year + 1900)"
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}
