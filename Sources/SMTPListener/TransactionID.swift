import Foundation

/// Short, time-ordered, unique ids for transactions: 50 bits of milliseconds and 30 random
/// bits in Crockford base32 (16 characters), safe in headers, file names and logs.
enum TransactionID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    static func make(now: Date = Date()) -> String {
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        var random = UInt32.random(in: .min ... .max)
        // Written straight into the string's storage: this runs once per message.
        return String(unsafeUninitializedCapacity: 16) { chars in
            // 10 characters (50 bits) of milliseconds keep ids sortable by time; 6 random (30 bits).
            var value = millis
            for index in stride(from: 9, through: 0, by: -1) {
                chars[index] = alphabet[Int(value & 31)]
                value >>= 5
            }
            for index in 10..<16 {
                chars[index] = alphabet[Int(random & 31)]
                random >>= 5
            }
            return 16
        }
    }
}
