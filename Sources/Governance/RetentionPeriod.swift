import Foundation

/// How long a rule keeps an arrival: `Nd` days of 86,400 s, `Ny` calendar years (UTC), or
/// `forever`. "Not a day less": a year ends on the same date and time of day N years on,
/// to the millisecond; from Feb 29 into a year without one it ends on Mar 1 (Feb 28 would
/// be a day short).
public enum RetentionPeriod: Hashable, Sendable, CustomStringConvertible {
    case days(Int)
    case years(Int)
    case forever

    /// The longest period written as a number: beyond it the date arithmetic means nothing.
    public static let maximumYears = 1000
    public static let maximumDays = maximumYears * 365

    public init(parsing text: String) throws(RetentionPeriodError) {
        if text == "forever" {
            self = .forever
            return
        }
        guard let unit = text.last, unit == "d" || unit == "y", text.count > 1,
              text.dropLast().allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .notAPeriod(text) }
        guard let number = Int(text.dropLast()), number <= (unit == "y" ? Self.maximumYears : Self.maximumDays) else {
            throw .tooLong(text)
        }
        guard number >= 1 else { throw .tooShort(text) }
        self = unit == "y" ? .years(number) : .days(number)
    }

    /// When an arrival received at `date` has been kept long enough; nil for `forever`.
    public func end(from date: Date) -> Date? {
        switch self {
        case .forever: return nil
        case .days(let n): return date + TimeInterval(n) * 86_400
        case .years(let n):
            let calendar = Self.utc
            let day = calendar.dateComponents([.year, .month, .day], from: date)
            guard let year = day.year, let month = day.month, var dayOfMonth = day.day else { return nil }
            var target = DateComponents(year: year + n, month: month, day: 1)
            if month == 2 && dayOfMonth == 29 && !Self.isLeap(year + n) {
                target.month = 3
                dayOfMonth = 1
            }
            target.day = dayOfMonth
            guard let midnight = calendar.date(from: target) else { return nil }
            return midnight + date.timeIntervalSince(calendar.startOfDay(for: date))
        }
    }

    public var description: String {
        switch self {
        case .forever: return "forever"
        case .days(let n): return n == 1 ? "1 day" : "\(n) days"
        case .years(let n): return n == 1 ? "1 year" : "\(n) years"
        }
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar
    }()
}

/// Why a `keep` or `default` value is not a period.
public enum RetentionPeriodError: Error, Hashable, Sendable, CustomStringConvertible {
    case notAPeriod(String)
    case tooShort(String)
    case tooLong(String)

    public var description: String {
        switch self {
        case .notAPeriod(let t): return "\"\(t)\" is not a period: Nd (days), Ny (calendar years) or \"forever\""
        case .tooShort(let t): return "\"\(t)\": the shortest period is 1d"
        case .tooLong(let t): return "\"\(t)\": the longest period is \(RetentionPeriod.maximumYears)y (or \"forever\")"
        }
    }
}
