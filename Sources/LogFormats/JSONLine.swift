import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One JSON object per line: `time` (RFC 3339, UTC, milliseconds), `level`, `label`,
/// `message`, and each metadata key as a field of its own. Nested metadata stays nested
/// (a dictionary is an object, an array an array); a metadata key that is one of the four
/// names above is written as `metadata.<key>`. JSONSerialization does the escaping.
enum JSONLine {
    static let reservedKeys: Set<String> = ["time", "level", "label", "message"]

    /// The line for one event, newline included.
    static func line(event: LogEvent, label: String, metadata: Logger.Metadata, time: Date) -> String {
        var object: [String: Any] = [:]
        for (key, value) in metadata {
            object[reservedKeys.contains(key) ? "metadata.\(key)" : key] = json(value)
        }
        object["time"] = RFC3339.milliseconds(time)
        object["level"] = event.level.rawValue
        object["label"] = label
        object["message"] = event.message.description
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            // Only strings, arrays and dictionaries go in: serialization cannot fail on them.
            return "{\"level\":\"error\",\"message\":\"log line not encodable\"}\n"
        }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(json)
        case .dictionary(let dictionary): dictionary.mapValues(json)
        }
    }
}

/// RFC 3339 timestamps in UTC with milliseconds, `2026-12-07T14:12:34.123Z`.
enum RFC3339 {
    static func milliseconds(_ date: Date) -> String {
        let totalMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(totalMilliseconds.quotientAndRemainder(dividingBy: 1000).quotient)
        let millisecond = Int(totalMilliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(millisecond, 3))Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
