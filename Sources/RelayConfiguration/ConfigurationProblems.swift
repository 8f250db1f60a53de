/// Problems (the file cannot be used) and warnings (it can, but probably not as meant),
/// each starting with where it is, e.g. `route[2] "ha": forward names unknown connection "b"`.
public struct ConfigurationProblems: Sendable, Equatable {
    public var errors: [String] = []
    public var warnings: [String] = []

    public var isEmpty: Bool { errors.isEmpty }

    mutating func error(_ at: String, _ text: String) { errors.append("\(at): \(text)") }
    mutating func warning(_ at: String, _ text: String) { warnings.append("\(at): \(text)") }

    mutating func merge(_ other: ConfigurationProblems) {
        errors += other.errors
        warnings += other.warnings
    }

    /// `value` if it is given and above zero (a problem if it is not), else `fallback`.
    mutating func positive<T: BinaryInteger>(_ value: T?, _ key: String, at: String, default fallback: T) -> T {
        guard let value else { return fallback }
        guard value > 0 else {
            error(at, "\(key) must be greater than 0, got \(value)")
            return fallback
        }
        return value
    }

    /// The longest duration any `*_seconds` key takes: 30 days. Timers count nanoseconds
    /// in 64 bits, so an unbounded value (say 10^16 s) would overflow the conversion and
    /// stop the node; no mail timeout or backoff is meant to be longer than this.
    public static let maximumSeconds = 30 * 86_400

    /// `value` if it is given, above zero and at most `maximumSeconds` (a problem if it
    /// is not), else `fallback`.
    mutating func seconds(_ value: Int?, _ key: String, at: String, default fallback: Int) -> Int {
        let checked = positive(value, key, at: at, default: fallback)
        guard checked <= Self.maximumSeconds else {
            error(at, "\(key) must be at most \(Self.maximumSeconds) (30 days), got \(checked)")
            return fallback
        }
        return checked
    }

    /// `value` if it is one of the enumeration's spellings (a problem if it is not), else `fallback`.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ value: String?, _ key: String, at: String, default fallback: T) -> T
    where T.RawValue == String {
        guard let value else { return fallback }
        guard let parsed = T(rawValue: value) else {
            let allowed = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            error(at, "\(key) must be one of \(allowed), got \"\(value)\"")
            return fallback
        }
        return parsed
    }

    /// Names that appear more than once, each reported at its second and later places.
    mutating func duplicates(_ names: [(index: Int, name: String?)], table: String) {
        var seen: [String: Int] = [:]
        for (index, name) in names {
            guard let name else { continue }
            if let first = seen[name] {
                error(NodeConfiguration.location(table, index, name), "the name is already used by \(NodeConfiguration.location(table, first, name))")
            } else {
                seen[name] = index
            }
        }
    }
}
