import Foundation

/// Archive ids: 26 characters of Crockford base32, ULID layout — 48 bits of Unix
/// milliseconds then 80 random bits. Lexical order is time order (to the millisecond),
/// they are printable, case-insensitive on input and need no coordination between nodes.
public enum ArchiveID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// A fresh id for a message received at `date`.
    public static func make(at date: Date = Date()) -> String {
        var rng = SystemRandomNumberGenerator()
        let millis = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        // 128 bits: timestamp in the high 48, randomness in the low 80.
        let high = (millis << 16) | UInt64(rng.next() as UInt16)
        let low: UInt64 = rng.next()
        var chars = [UInt8](repeating: 0, count: 26)
        // 26 chars * 5 bits = 130 bits; the first char carries only the top 3 bits.
        for i in 0..<26 {
            let shift = 125 - 5 * i
            let value: UInt64
            if shift >= 64 {
                value = high >> UInt64(shift - 64)
            } else if shift > 59 {
                value = (high << UInt64(64 - shift)) | (low >> UInt64(shift))
            } else {
                value = low >> UInt64(shift)
            }
            chars[i] = alphabet[Int(value & 0x1F)]
        }
        return String(decoding: chars, as: UTF8.self)
    }

    /// Whether `text` looks like an id this module mints (used by `get` to decide how to
    /// interpret its argument).
    public static func isWellFormed(_ text: String) -> Bool {
        let utf8 = Array(text.uppercased().utf8)
        return utf8.count == 26 && utf8.allSatisfy { alphabet.contains($0) }
    }
}
