/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every
/// archive record, segment header and footer, and of every queue journal frame.
///
/// Castagnoli rather than the zlib CRC-32 because it has better error detection for the
/// record sizes we store and is what etcd, ext4 and iSCSI use. The table-driven
/// slicing-by-8 form processes eight bytes per step; it is on the hot path (every byte
/// of every record is checksummed once when written and once per read).
public struct CRC32C: Sendable {
    /// The running (already inverted) state; `value` is the finished checksum.
    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    /// Goes on from a finished checksum (`value`), as if its bytes had been fed.
    package init(continuing value: UInt32) { state = value ^ 0xFFFF_FFFF }

    /// The checksum of everything fed so far.
    public var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// One-shot checksum of `bytes`.
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc = CRC32C()
        crc.update(bytes)
        return crc.value
    }

    /// Feeds `bytes`, using the contiguous fast path when the collection has one.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if handled == nil {
            let copy = Array(bytes)
            copy.withUnsafeBytes { update($0) }
        }
    }

    /// Feeds raw memory: slicing-by-8 over the aligned middle, byte at a time at the ends.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let t = CRC32CTables.shared
        var crc = state
        var index = 0
        let count = buffer.count
        t.withUnsafeBufferPointer { table in
            while index + 8 <= count {
                // Little-endian loads: the reflected CRC consumes the low byte first.
                let lo = base.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian ^ crc
                let hi = base.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self).littleEndian
                crc = table[7 * 256 + Int(lo & 0xFF)]
                    ^ table[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((lo >> 16) & 0xFF)]
                    ^ table[4 * 256 + Int(lo >> 24)]
                    ^ table[3 * 256 + Int(hi & 0xFF)]
                    ^ table[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ table[1 * 256 + Int((hi >> 16) & 0xFF)]
                    ^ table[0 * 256 + Int(hi >> 24)]
                index += 8
            }
            while index < count {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        state = crc
    }
}

extension CRC32C {
    /// The checksum of `a` followed by `b`, from the checksum of each and the length of `b`
    /// (zlib's `crc32_combine`): a record's body is checksummed as it is compressed, before
    /// the header in front of it is known.
    package static func combine(_ a: UInt32, _ b: UInt32, lengthOfB length: Int) -> UInt32 {
        multiply(shift(byBytes: length), a) ^ b
    }

    /// x^(8n) modulo the polynomial: what appending n zero bytes multiplies a checksum by.
    private static func shift(byBytes n: Int) -> UInt32 {
        var power: UInt32 = 1 << 31  // x^0
        var n = n
        var k = 3  // a byte is x^8 = x^(2^3)
        while n > 0 {
            if n & 1 == 1 { power = multiply(powersOfTwo[k & 31], power) }
            n >>= 1
            k += 1
        }
        return power
    }

    /// Multiplication of two polynomials modulo the (reflected) CRC polynomial.
    private static func multiply(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var mask: UInt32 = 1 << 31
        var b = b
        var product: UInt32 = 0
        while mask != 0 {
            if a & mask != 0 {
                product ^= b
                if a & (mask - 1) == 0 { break }
            }
            mask >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ CRC32CTables.polynomial : b >> 1
        }
        return product
    }

    /// x^(2^k) modulo the polynomial, k = 0...31.
    private static let powersOfTwo: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 32)
        var p: UInt32 = 1 << 30  // x^1
        table[0] = p
        for k in 1..<32 {
            p = multiply(p, p)
            table[k] = p
        }
        return table
    }()
}

/// The eight 256-entry lookup tables, built once per process.
enum CRC32CTables {
    static let polynomial: UInt32 = 0x82F6_3B78

    /// Table k maps a byte to its CRC contribution when followed by k zero bytes.
    static let shared: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var crc = UInt32(n)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1
            }
            table[n] = crc
        }
        for n in 0..<256 {
            var crc = table[n]
            for k in 1..<8 {
                crc = table[Int(crc & 0xFF)] ^ (crc >> 8)
                table[k * 256 + n] = crc
            }
        }
        return table
    }()
}
