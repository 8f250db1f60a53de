import Foundation
import Testing
@testable import ArchiveStore
import TestRandom

/// Packs `original` fed in slices of `feed` bytes, ending the open token every `drain`
/// bytes of packed output (as `MessageDraft` does before compressing).
private func pack(_ original: [UInt8], feed: Int, drain: Int = MessageDraft.packedSlice) -> [UInt8] {
    var packer = Base64Packer()
    var packed: [UInt8] = []
    var staged: [UInt8] = []
    var start = 0
    while start < original.count {
        let end = min(original.count, start + feed)
        original[start..<end].withUnsafeBytes { packer.pack($0, into: &staged) }
        start = end
        if staged.count >= drain {
            packer.closeToken(in: &staged)
            packed += staged
            staged.removeAll()
        }
    }
    packer.finish(into: &staged)
    return packed + staged
}

private func unpack(_ packed: [UInt8], size: Int) throws -> [UInt8] {
    try packed.withUnsafeBytes { try Base64Unpacker.unpack($0, originalSize: size) }
}

private func lines(_ text: [String]) -> [UInt8] { Array(text.map { $0 + "\r\n" }.joined().utf8) }

/// `bytes` as a MIME encoder writes them: base64 in lines of `width` characters, CRLF after each.
private func base64Lines(_ bytes: [UInt8], width: Int) -> [String] {
    let text = Data(bytes).base64EncodedString()
    return stride(from: 0, to: text.count, by: width).map { start in
        let from = text.index(text.startIndex, offsetBy: start)
        return String(text[from..<(text.index(from, offsetBy: width, limitedBy: text.endIndex) ?? text.endIndex)])
    }
}

@Suite struct Base64PackingTests {
    static let header = ["From: a@example.test", "Subject: packing", "Content-Transfer-Encoding: base64", ""]

    /// (name, original, how many of its bytes at least packing must save)
    static let cases: [(String, [UInt8], Int)] = [
        ("empty", [], 0),
        ("text only", lines(header + ["Hello,", "a plain text body.", "--", "x"]), 0),
        ("76-wide block, one = of padding", lines(header + base64Lines(randomBytes(2000, seed: 1), width: 76) + ["--b--"]), 400),
        ("76-wide block, == of padding", lines(header + base64Lines(randomBytes(2001, seed: 2), width: 76)), 400),
        ("block ends on a full line", lines(header + base64Lines(randomBytes(57 * 30, seed: 3), width: 76) + ["", "tail"]), 400),
        ("padded last line as wide as the block", lines(base64Lines(randomBytes(57 * 10 - 1, seed: 4), width: 76) + ["x"]), 100),
        ("two blocks of one width, back to back", lines(base64Lines(randomBytes(1000, seed: 5), width: 64) + base64Lines(randomBytes(999, seed: 6), width: 64)), 300),
        ("two blocks of different widths", lines(base64Lines(randomBytes(900, seed: 7), width: 76) + base64Lines(randomBytes(900, seed: 8), width: 60)), 300),
        ("widest block (996)", lines(base64Lines(randomBytes(5000, seed: 9), width: 996)), 900),
        ("padding bits not zero: last line left as text", lines(base64Lines(randomBytes(570, seed: 14), width: 76) + ["QR=="]), 100),
        ("= inside a line: left as text", lines([String(repeating: "QUJD", count: 5) + "=" + String(repeating: "QUJD", count: 5) + "AAA"]), 0),
        ("hex digest line: packed, still exact", lines([String(repeating: "0123456789abcdef", count: 4)]), 0),
        ("bare LF lines: left as text", Array((base64Lines(randomBytes(600, seed: 10), width: 76).joined(separator: "\n") + "\n").utf8), 0),
        ("no final line break", lines(base64Lines(randomBytes(600, seed: 11), width: 76)) + Array("QUJD".utf8), 100),
        ("line longer than any base64 line", lines([String(repeating: "QUJD", count: 300)] + base64Lines(randomBytes(600, seed: 12), width: 76)), 100),
        ("short lines of base64 alphabet", lines(Array(repeating: "QUJD", count: 50)), 0),
        ("CR alone inside a line", lines([String(repeating: "QUJD", count: 10) + "\r" + String(repeating: "QUJD", count: 10)]), 0),
    ]

    @Test(arguments: cases.indices)
    func roundTripsAtEveryFeedSize(_ index: Int) throws {
        let (name, original, saving) = Self.cases[index]
        for feed in [1, 2, 3, 5, 77, 78, 1000, max(1, original.count)] {
            for drain in [1, 100, MessageDraft.packedSlice] {
                let packed = pack(original, feed: feed, drain: drain)
                #expect(try unpack(packed, size: original.count) == original, "\(name), feed \(feed), drain \(drain)")
                #expect(packed.count <= Base64Unpacker.capacity(forOriginalSize: original.count) || drain < 1000, "\(name)")
            }
        }
        let whole = pack(original, feed: max(1, original.count))
        #expect(whole.count <= original.count + Base64Packer.literalHeaderSize - saving, "\(name): packed \(whole.count) of \(original.count)")
    }

    /// Random mixtures of text and base64 blocks, fed in random slices: each unpacks to
    /// its original, and no packed body outgrows the capacity readers allocate for it.
    @Test func randomMessagesRoundTripWithinCapacity() throws {
        var rng = SplitMix64(seed: 42)
        var packedTotal = 0, originalTotal = 0
        for round in 0..<300 {
            var text: [String] = []
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                if Bool.random(using: &rng) {
                    let width = 4 * Int.random(in: 1...249, using: &rng)
                    text += base64Lines(randomBytes(Int.random(in: 1...3000, using: &rng), seed: rng.next()), width: width)
                } else {
                    text += (0..<Int.random(in: 0...5, using: &rng)).map { _ in
                        String(repeating: ["QUJD", "a b ", "==", "x"].randomElement(using: &rng)!, count: Int.random(in: 0...60, using: &rng))
                    }
                }
            }
            var original = lines(text)
            if Bool.random(using: &rng) { original.removeLast(Int.random(in: 0...min(3, original.count), using: &rng)) }
            let packed = pack(original, feed: Int.random(in: 1...5000, using: &rng))
            #expect(try unpack(packed, size: original.count) == original, "round \(round)")
            #expect(packed.count <= Base64Unpacker.capacity(forOriginalSize: original.count), "round \(round)")
            packedTotal += packed.count
            originalTotal += original.count
        }
        // Half the lines are base64 of at least 4 characters: packing must show it.
        #expect(packedTotal < originalTotal * 9 / 10)
    }

    /// Byte at a time, or the worst alternation of one base64 line and one empty line:
    /// the packed body stays within `capacity`.
    @Test func adversarialInputsStayWithinCapacity() throws {
        let alternating = lines(Array([String(repeating: "QUJD", count: 10), ""].repeated(5000)))
        let shortFinals = lines(Array([String(repeating: "QUJD", count: 10), "QQ==", "x"].repeated(3000)))
        for original in [alternating, shortFinals, lines(Array(repeating: "", count: 20000))] {
            for feed in [1, 3, 4096] {
                let packed = pack(original, feed: feed)
                #expect(packed.count <= Base64Unpacker.capacity(forOriginalSize: original.count))
                #expect(try unpack(packed, size: original.count) == original)
            }
        }
    }

    @Test(arguments: [
        ("unknown tag", [7, 1, 0, 0, 0, 65], 1),
        ("header cut short", [0, 1, 0], 1),
        ("empty token", [0, 0, 0, 0, 0], 0),
        ("token longer than the body", [0, 9, 0, 0, 0, 65], 9),
        ("line length not a multiple of 4", [1, 6, 0, 3, 0, 0, 0, 1, 2, 3], 6),
        ("line length above 996", [1, 0xE8, 0x03, 3, 0, 0, 0, 1, 2, 3], 6),
        ("longer than the original", [0, 2, 0, 0, 0, 65, 66], 1),
        ("shorter than the original", [0, 2, 0, 0, 0, 65, 66], 3),
        ("base64 longer than the original", [1, 4, 0, 3, 0, 0, 0, 1, 2, 3], 5),
    ] as [(String, [UInt8], Int)])
    func malformedBodiesAreRejected(name: String, packed: [UInt8], size: Int) {
        #expect(throws: Base64Unpacker.Malformed.self, "\(name)") { try unpack(packed, size: size) }
    }

    @Test func unpacksTheDocumentedExample() throws {
        // docs/FORMAT.md, "Packed body": "Hi\r\n", then "QUJD\r\n" (L = 4, bytes "ABC").
        let packed: [UInt8] = [0, 4, 0, 0, 0] + Array("Hi\r\n".utf8) + [1, 4, 0, 3, 0, 0, 0] + Array("ABC".utf8)
        #expect(try unpack(packed, size: 10) == Array("Hi\r\nQUJD\r\n".utf8))
    }

    /// Records written before packing (version 2, the body frame holds the original, the
    /// arrival in the metadata) are still read; new message records are version 4 and packed.
    @Test func unpackedRecordsOfVersion2AreStillRead() throws {
        let text = Array(Corpus.messages.prefix(3).joined())
        let original = lines(Self.header + base64Lines(text, width: 76))
        let message = try finished(original, envelope: envelope(1))
        #expect(try message.encodedRecord[4] == 4)
        let packed = try RecordCodec.decode(message.encodedRecord[...])
        #expect(packed.bodyFormat == .packed)
        #expect(try packed.original() == original)

        var plain = packed
        plain.bodyFormat = .original
        plain.arrival = message.arrival
        plain.compressedBody = try ZstdSection.compress(original, dictionary: nil, level: 3)
        let bytes = try RecordCodec.encode(plain)
        #expect(bytes[4] == 2)
        let decoded = try RecordCodec.decode(bytes[...])
        #expect(decoded.bodyFormat == .original)
        #expect(decoded.arrival?.envelope.recipients == message.arrival.envelope.recipients)
        #expect(try decoded.original() == original)
        // Text under base64: zstd finds its structure only once it is decoded.
        #expect(packed.compressedBody.count * 10 < plain.compressedBody.count * 8)
    }
}

extension Array {
    func repeated(_ times: Int) -> [Element] { Array((0..<times).map { _ in self }.joined()) }
}
