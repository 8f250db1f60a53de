import Foundation

/// The Date field (RFC 5322 section 3.3) with the obsolete forms of section 4.3 and what
/// mailers write besides: an optional day name, 2- and 3-digit years, named zones (UT, GMT,
/// the US zones, military letters as -0000), missing seconds, comments and extra white
/// space, a missing zone (taken as UTC). Nil when no day, month, year and time are found.
enum MailDate {
    static func parse(_ raw: String) -> Date? {
        var depth = 0
        var text = ""
        for c in raw {  // comments dropped, commas as white space
            if c == "(" { depth += 1; text.append(" "); continue }
            if c == ")" { depth = max(0, depth - 1); text.append(" "); continue }
            if depth > 0 { continue }
            text.append(c == "," ? " " : c)
        }
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" })
        var day: Int?, month: Int?, year: Int?
        var time: (h: Int, m: Int, s: Int)?
        var zone: Int?
        for token in tokens {
            let lower = token.lowercased()
            if time == nil, token.contains(":") {
                let parts = token.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
                guard parts.count == 2 || parts.count == 3, let h = parts[0], let m = parts[1] else { return nil }
                let s = parts.count == 3 ? parts[2] : 0
                guard let s, (0...23).contains(h), (0...59).contains(m), (0...60).contains(s) else { return nil }
                time = (h, m, s)
            } else if month == nil, let m = months.firstIndex(where: { lower.hasPrefix($0) }), lower.allSatisfy(\.isLetter) {
                month = m + 1
            } else if let sign = token.first, (sign == "+" || sign == "-"), token.count == 5, let v = Int(token.dropFirst()), time != nil {
                let minutes = (v / 100) * 60 + v % 100
                zone = sign == "-" ? -minutes : minutes
            } else if let v = Int(token), token.allSatisfy(\.isNumber) {
                if day == nil, month == nil || token.count <= 2, year == nil, token.count <= 2 { day = v }
                else if year == nil { year = token.count <= 2 ? (v < 50 ? 2000 + v : 1900 + v) : (token.count == 3 ? 1900 + v : v) }
                else { return nil }
            } else if time != nil, zone == nil, let z = namedZones[lower] {
                zone = z * 60
            } else if time != nil, zone == nil, lower.count == 1, lower.allSatisfy(\.isLetter) {
                zone = 0
            }
        }
        guard let day, let month, let year, let time, (1...31).contains(day), (1...9999).contains(year) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + time.h * 3600 + time.m * 60 + time.s - (zone ?? 0) * 60
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let namedZones: [String: Int] = [
        "ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
        "bst": 1, "cet": 1, "cest": 2, "met": 1, "mest": 2, "eet": 2, "eest": 3, "jst": 9, "kst": 9, "hkt": 8, "ist": 0,
    ]

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
