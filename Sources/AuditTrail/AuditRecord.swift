import Crypto
import Foundation
import OperatorText

/// One line of the audit log: an entry with its place in the chain (docs/FORMAT.md,
/// "Audit log"). `hash` is SHA-256 over the line's canonical form without the hash field,
/// which includes `previousHash`, so changing, removing or moving any entry breaks every
/// link after it.
public struct AuditRecord: Sendable, Equatable {
    public var sequence: Int
    /// The time as the line holds it: UTC, milliseconds (`2026-12-07T11:05:18.123Z`).
    public var timeText: String
    public var entry: AuditEntry
    /// Hex SHA-256 of the entry before; 64 zeros for the first.
    public var previousHash: String
    public var hash: String

    /// The `previousHash` of sequence 1.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// A new link after `previous` (nil: the first entry of a log).
    init(entry: AuditEntry, after previous: AuditChainTail?) {
        sequence = (previous?.sequence ?? 0) + 1
        let milliseconds = Int64((entry.time.timeIntervalSince1970 * 1000).rounded())
        var entry = entry
        entry.time = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        timeText = Self.timeText(milliseconds: milliseconds)
        self.entry = entry
        previousHash = previous?.hash ?? Self.genesisHash
        hash = ""
        hash = computedHash
    }

    /// `2026-12-07T11:05:18.123Z`: digits from the integer, so no rounding of a Double
    /// (or of a date formatter) can make the text differ from the milliseconds kept.
    static func timeText(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds.floorDiv(1000))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(milliseconds - milliseconds.floorDiv(1000) * 1000))
    }

    /// The canonical form the hash covers: fixed field order, arguments sorted by key
    /// (UTF-8 byte order), strings escaped by `AuditJSON.quote`, no spaces.
    var canonicalBody: String {
        let arguments = entry.arguments.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            .map { AuditJSON.quote($0.key) + ":" + AuditJSON.quote($0.value) }.joined(separator: ",")
        return "{\"seq\":\(sequence),\"time\":\(AuditJSON.quote(timeText)),\"actor\":\(AuditJSON.quote(entry.actor)),"
            + "\"action\":\(AuditJSON.quote(entry.action)),\"arguments\":{\(arguments)},"
            + "\"result_count\":\(entry.resultCount.map(String.init) ?? "null"),\"prev\":\(AuditJSON.quote(previousHash))"
    }

    var computedHash: String {
        SHA256.hash(data: Array((canonicalBody + "}").utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The line as the log stores it (and `archive audit --json` prints it), newline included.
    public var line: String { canonicalBody + ",\"hash\":\(AuditJSON.quote(hash))}\n" }

    /// Where the chain continues after this record.
    var tail: AuditChainTail { AuditChainTail(sequence: sequence, hash: hash) }
}

/// The last link of a chain: what the next entry continues from and what the head file holds.
public struct AuditChainTail: Sendable, Equatable, CustomStringConvertible {
    public var sequence: Int
    public var hash: String

    public var description: String { "seq \(sequence) hash \(hash)" }
}

/// Why a line is not an entry (bad JSON, a field missing or of the wrong type).
public struct AuditLineError: Error, Equatable, CustomStringConvertible {
    public var description: String
}

extension AuditRecord {
    static let fields: Set<String> = ["seq", "time", "actor", "action", "arguments", "result_count", "prev", "hash"]

    /// Reads one line (without its newline). Values are taken as written; whether the
    /// hash matches them is `verify`'s question, not the parser's.
    init(line: Substring) throws(AuditLineError) {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw AuditLineError(description: "not a JSON object")
            }
            object = parsed
        } catch let error as AuditLineError {
            throw error
        } catch {
            throw AuditLineError(description: "not JSON")
        }
        guard Set(object.keys) == Self.fields else {
            throw AuditLineError(description: "fields are not exactly \(Self.fields.sorted().joined(separator: ", "))")
        }
        guard let sequence = Self.integer(object["seq"]), sequence >= 1 else { throw AuditLineError(description: "seq is not a positive integer") }
        guard let timeText = object["time"] as? String, let time = try? CommandLineTime.parse(timeText) else {
            throw AuditLineError(description: "time is not an RFC 3339 time")
        }
        guard let actor = object["actor"] as? String, let action = object["action"] as? String,
              let arguments = object["arguments"] as? [String: String] else {
            throw AuditLineError(description: "actor, action or arguments is not text")
        }
        let resultCount: Int?
        if object["result_count"] is NSNull {
            resultCount = nil
        } else if let count = Self.integer(object["result_count"]) {
            resultCount = count
        } else {
            throw AuditLineError(description: "result_count is neither an integer nor null")
        }
        guard let previous = object["prev"] as? String, AuditJSON.isHash(previous),
              let hash = object["hash"] as? String, AuditJSON.isHash(hash) else {
            throw AuditLineError(description: "prev or hash is not 64 lowercase hex digits")
        }
        self.sequence = sequence
        self.timeText = timeText
        self.entry = AuditEntry(time: time, actor: actor, action: action, arguments: arguments, resultCount: resultCount)
        self.previousHash = previous
        self.hash = hash
    }

    /// An integral JSON number. (`true` passes too, as NSNumber; verify's canonical-form
    /// check refuses any line that is not written exactly as the log writes it.)
    private static func integer(_ value: Any?) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9e15 else { return nil }
        return number.intValue
    }
}

extension Int64 {
    /// Division rounding toward minus infinity (times before 1970 too).
    func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

/// The JSON text of the audit log: the one string escaping the hash is defined over.
enum AuditJSON {
    /// `"` and `\` escaped, and as `\u00XX` every C0 and C1 control, DEL, U+2028 and
    /// U+2029, so a line stays one line and safe on a terminal; the rest is UTF-8 as is.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
