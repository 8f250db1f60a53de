import Foundation
import MessageText
import TestRandom
import Testing

/// The result does not depend on how the message is split into `feed` calls: whole,
/// byte by byte, and in random chunks, with the standard limits and with small ones (so
/// the truncation points are reached in every split too).
@Suite struct ChunkingTests {
    static let corpusDirectory = "/work/shared/corpus/spamassassin"

    static func corpus() -> [[UInt8]] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpusDirectory)) ?? []
        return names.sorted().filter { !$0.hasPrefix("LICENSE") }.compactMap {
            FileManager.default.contents(atPath: corpusDirectory + "/" + $0).map { [UInt8]($0) }
        }
    }

    static let smallLimits = MessageTextLimits(maxDepth: 2, maxParts: 3, maxHeaderBytes: 300, maxTextBytes: 500)

    static func extract(_ message: [UInt8], chunkSizes: () -> Int, limits: MessageTextLimits) -> MessageText {
        var extractor = MessageTextExtractor(limits: limits)
        var i = 0
        while i < message.count {
            let n = max(1, chunkSizes())
            extractor.feed(message[i..<min(i + n, message.count)])
            i += n
        }
        return extractor.finish()
    }

    /// Checks one message in every split; returns the whole-message result.
    @discardableResult
    static func checkSplits(_ message: [UInt8], seed: UInt64, sourceLocation: SourceLocation = #_sourceLocation) -> MessageText {
        var random = SplitMix64(seed: seed)
        var first = MessageText()
        for limits in [MessageTextLimits.standard, smallLimits] {
            let whole = MessageTextExtractor.extract(message, limits: limits)
            if limits == .standard { first = whole }
            let bytewise = extract(message, chunkSizes: { 1 }, limits: limits)
            #expect(bytewise == whole, "byte by byte", sourceLocation: sourceLocation)
            for _ in 0..<3 {
                let chunked = extract(message, chunkSizes: { Int.random(in: 1...1500, using: &random) }, limits: limits)
                #expect(chunked == whole, "random chunks", sourceLocation: sourceLocation)
            }
        }
        return first
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpusDirectory)))
    func corpusMessages() {
        let messages = Self.corpus()
        #expect(messages.count > 100)
        for (n, message) in messages.enumerated() { Self.checkSplits(message, seed: UInt64(n)) }
    }

    @Test func tableMessages() {
        Self.checkSplits(Array(MessageStructureTests.mixed.utf8), seed: 1)
        for (n, row) in MessageStructureTests.rows.enumerated() { Self.checkSplits(Array(row.message.utf8), seed: UInt64(n)) }
    }

    /// Lines longer than the boundary window, a QP escape and CRLF at every offset
    /// around a piece's end.
    @Test func longLinesAroundTheWindow() {
        for pad in 1010...1030 {
            let line = String(repeating: "w", count: pad)
            let message = "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                + line + "=C3=A9=\r\n" + line + "\r\n--q--\r\n"
            let t = Self.checkSplits(Array(message.utf8), seed: UInt64(pad))
            #expect(t.body == line + "é" + line, "pad \(pad): \(t.body.utf8.count) bytes, é at \(t.body.firstIndex(of: "é").map { t.body.distance(from: t.body.startIndex, to: $0) } ?? -1)")
        }
    }
}
