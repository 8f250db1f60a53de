import Foundation

/// The times the operator tools take (`--since`, `--until`) and print. Two forms, read
/// whole: a UTC day `2026-05-01` (00:00:00 UTC), or an RFC 3339 time with a zone,
/// `2026-05-01T12:00:00Z`, `2026-05-01T14:00:00+02:00`, optionally with a fraction of a
/// second. Anything else is refused rather than guessed: a time without a zone, an
/// impossible date (`2026-02-30`) or trailing text would select the wrong messages.
public enum CommandLineTime {
    /// The accepted forms, for error messages.
    public static let forms = "a UTC day (2026-05-01) or an RFC 3339 time with a zone (2026-05-01T12:00:00Z, 2026-05-01T14:00:00+02:00)"

    /// Digits of a fraction of a second: nanoseconds, beyond what a `Date` holds anyway.
    static let maximumFractionDigits = 9

    public static func parse(_ text: String) throws(CommandLineTimeError) -> Date {
        guard let date = Parser(Array(text.utf8)).date() else { throw CommandLineTimeError(text: text) }
        return date
    }

    public static func format(_ date: Date) -> String {
        printerLock.lock()
        defer { printerLock.unlock() }
        return printer.string(from: date)
    }

    /// One for the process: setting a formatter up costs ICU about a millisecond, and
    /// `archive search` prints a hundred lines in a few milliseconds otherwise. ICU's
    /// formats are not safe to use from two threads at once: the lock serializes them.
    private static let printerLock = NSLock()
    private nonisolated(unsafe) static let printer: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    /// Reads the two forms field by field; nil at the first byte out of place.
    private struct Parser {
        let bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        func date() -> Date? {
            guard let year = number(0, 4), byte(4, "-"), let month = number(5, 2), byte(7, "-"), let day = number(8, 2),
                  (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
            else { return nil }
            let midnight = Double(daysSinceEpoch(year: year, month: month, day: day) * 86_400)
            if bytes.count == 10 { return Date(timeIntervalSince1970: midnight) }
            guard byte(10, "T") || byte(10, "t"), let hour = number(11, 2), byte(13, ":"), let minute = number(14, 2),
                  byte(16, ":"), let second = number(17, 2), hour < 24, minute < 60, second < 60
            else { return nil }
            var end = 19
            var fraction = 0.0
            if byte(end, ".") {
                let digits = bytes[(end + 1)...].prefix { (0x30...0x39).contains($0) }
                guard (1...CommandLineTime.maximumFractionDigits).contains(digits.count), let value = number(end + 1, digits.count) else { return nil }
                fraction = Double(value) / pow(10, Double(digits.count))
                end += 1 + digits.count
            }
            guard let offset = zoneOffset(at: end) else { return nil }
            return Date(timeIntervalSince1970: midnight + Double(hour * 3600 + minute * 60 + second - offset) + fraction)
        }

        /// Seconds east of UTC of `Z` or `±hh:mm`, which must end the text.
        private func zoneOffset(at index: Int) -> Int? {
            if (byte(index, "Z") || byte(index, "z")) && bytes.count == index + 1 { return 0 }
            guard byte(index, "+") || byte(index, "-"), bytes.count == index + 6,
                  let hours = number(index + 1, 2), byte(index + 3, ":"), let minutes = number(index + 4, 2), hours < 24, minutes < 60
            else { return nil }
            return (byte(index, "-") ? -1 : 1) * (hours * 3600 + minutes * 60)
        }

        private func byte(_ index: Int, _ character: Unicode.Scalar) -> Bool {
            index < bytes.count && bytes[index] == UInt8(ascii: character)
        }

        /// The decimal number in `count` digits at `index`, nil unless all are digits.
        private func number(_ index: Int, _ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for b in bytes[index..<(index + count)] {
                guard (0x30...0x39).contains(b) else { return nil }
                value = value * 10 + Int(b - 0x30)
            }
            return value
        }
    }

    static func daysIn(month: Int, year: Int) -> Int {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    /// Days from 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// A `--since`/`--until` value in neither accepted form.
public struct CommandLineTimeError: Error, CustomStringConvertible, Sendable {
    public let text: String
    public var description: String {
        "'\(TerminalText.escape(text))' is not \(CommandLineTime.forms)"
    }
}
