import Foundation
import MessageText
import TestRandom
import Testing

/// Inputs built to cost a parser: each ends with what came before the limit kept,
/// `truncated` set where a limit applies, and no crash. (Outcomes, never times.)
@Suite struct HostileInputTests {
    @Test func multipartNestingBeyondTheDepthLimit() {
        var message = ""
        for level in 0..<200 {
            message += "Content-Type: multipart/mixed; boundary=b\(level)\r\n\r\n--b\(level)\r\n"
            if level == 0 { message += "\r\nouterword\r\n--b0\r\n" }
        }
        message += "\r\ninnermostword\r\n"
        let t = MessageTextExtractor.extract(Array(message.utf8))
        #expect(t.truncated)
        #expect(t.body.contains("outerword"))
        #expect(!t.body.contains("innermostword"))
    }

    @Test func messageNestingBeyondTheDepthLimit() {
        var message = ""
        for level in 0..<200 { message += "Subject: level\(level)\r\nContent-Type: message/rfc822\r\n\r\n" }
        message += "Subject: innermost\r\n\r\ninnermostword\r\n"
        let t = MessageTextExtractor.extract(Array(message.utf8))
        #expect(t.truncated)
        #expect(t.subject == "level0")
        #expect(t.body.contains("level32"))
        #expect(!t.body.contains("innermostword"))
    }

    @Test func aMillionTinyParts() {
        var message = Array("Content-Type: multipart/mixed; boundary=p\r\n\r\n".utf8)
        let part = Array("--p\r\n\r\nx\r\n".utf8)
        message.reserveCapacity(message.count + part.count * 1_000_000)
        for _ in 0..<1_000_000 { message += part }
        let t = MessageTextExtractor.extract(message)
        #expect(t.truncated)
        #expect(t.body.utf8.count < 2 * MessageTextLimits.standard.maxParts)
        #expect(t.body.hasPrefix("x\nx\n"))
    }

    @Test func aTenMegabyteHeaderLine() {
        var message = Array("Subject: kept subject\r\nX-Huge: ".utf8)
        message += [UInt8](repeating: UInt8(ascii: "h"), count: 10 << 20)
        message += Array("\r\nTo: late@example.com\r\n\r\nbody after the header\r\n".utf8)
        let t = MessageTextExtractor.extract(message)
        #expect(t.truncated)
        #expect(t.to.isEmpty)  // after the cut: not kept
        #expect(t.subject == "kept subject")
        #expect(t.body == "body after the header")
    }

    @Test func aBoundaryThatNeverComes() {
        var message = Array("Content-Type: multipart/mixed; boundary=never\r\n\r\n--never\r\n\r\n".utf8)
        for n in 0..<200_000 { message += Array("line \(n) of a part that does not end\r\n".utf8) }
        let limits = MessageTextLimits(maxDepth: 32, maxParts: 10_000, maxHeaderBytes: 1 << 20, maxTextBytes: 100_000)
        let t = MessageTextExtractor.extract(message, limits: limits)
        #expect(t.truncated)
        #expect(t.body.utf8.count <= limits.maxTextBytes)
        #expect(t.body.hasPrefix("line 0 of a part"))
    }

    @Test func aHugeLineWithoutBreaks() {
        var message = Array("Content-Type: text/plain\r\n\r\n".utf8)
        message += [UInt8](repeating: UInt8(ascii: "a"), count: 3 << 20)
        let limits = MessageTextLimits(maxDepth: 32, maxParts: 10_000, maxHeaderBytes: 1 << 20, maxTextBytes: 1 << 20)
        let t = MessageTextExtractor.extract(message, limits: limits)
        #expect(t.truncated)
        #expect(t.body.utf8.count <= limits.maxTextBytes)
    }

    @Test func randomBytes() {
        var random = SplitMix64(seed: 2525)
        let limits = MessageTextLimits(maxDepth: 4, maxParts: 50, maxHeaderBytes: 2000, maxTextBytes: 4000)
        let pieces = ["\r\n", "\n", "--b", "Content-Type: multipart/mixed; boundary=b", "Content-Type: message/rfc822", ": ", "=?", "?=",
                      "<p>", "&#x", ";", "=\r\n", "Content-Transfer-Encoding: base64", "=C3"].map { Array($0.utf8) }
        for _ in 0..<300 {
            var message: [UInt8] = []
            for _ in 0..<Int.random(in: 0...200, using: &random) {
                if Bool.random(using: &random), let piece = pieces.randomElement(using: &random) {
                    message += piece
                } else {
                    message.append(UInt8.random(in: 0...255, using: &random))
                }
            }
            let whole = MessageTextExtractor.extract(message, limits: limits)
            #expect(whole.body.utf8.count <= limits.maxTextBytes)
            var extractor = MessageTextExtractor(limits: limits)
            for b in message { extractor.feed(CollectionOfOne(b)) }
            #expect(extractor.finish() == whole)
        }
    }
}
