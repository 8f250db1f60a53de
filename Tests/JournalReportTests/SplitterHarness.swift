import JournalReport
import TestRandom
import TestSupport
import Testing
@testable import JournalReport

/// What one run of the splitter over a whole message came to, the same under any chunking.
enum SplitVerdict: Equatable {
    case notAReport
    case report(ReportEnvelope, WrapperRecipe, original: [UInt8])
    case malformed(reason: String)
}

/// Feeds `input` in chunks of the sizes `nextSize` gives, checking the invariant after
/// every feed: the recipe so far rebuilds, from the original passed so far, every byte
/// fed so far. Stops after `.notAReport` or `.failed` as the caller does.
func split(_ input: [UInt8], limits: JournalReportSplitter.Limits = .init(),
           sourceLocation: SourceLocation = #_sourceLocation, nextSize: () -> Int) -> SplitVerdict {
    var splitter = JournalReportSplitter(limits: limits)
    var original: [UInt8] = []
    var fed = 0
    while fed < input.count {
        let size = max(1, min(nextSize(), input.count - fed))
        let progress = input[fed..<(fed + size)].withUnsafeBytes { chunk in
            splitter.feed(chunk) { original.append(contentsOf: $0) }
        }
        fed += size
        let soFar = Array(input[..<fed])
        switch progress {
        case .deciding, .report:
            #expect(firstDifference(splitter.recipeSoFar.reconstruct(original: original), soFar) == nil, "invariant broken at \(fed)", sourceLocation: sourceLocation)
            if case .deciding = progress { #expect(original.isEmpty, sourceLocation: sourceLocation) }
        case .notAReport(let held):
            #expect(firstDifference(held, soFar) == nil && original.isEmpty, sourceLocation: sourceLocation)
            return .notAReport
        case .failed(let failure):
            #expect(firstDifference(failure.recipe.reconstruct(original: original), soFar) == nil, "failure recipe at \(fed): \(failure.reason)",
                    sourceLocation: sourceLocation)
            return .malformed(reason: failure.reason)
        }
    }
    switch splitter.finish(original: { original.append(contentsOf: $0) }) {
    case .notAReport(let held):
        #expect(firstDifference(held, input) == nil && original.isEmpty, sourceLocation: sourceLocation)
        return .notAReport
    case .report(let envelope, let recipe):
        #expect(firstDifference(recipe.reconstruct(original: original), input) == nil, sourceLocation: sourceLocation)
        return .report(envelope, recipe, original: original)
    case .malformed(let failure):
        #expect(firstDifference(failure.recipe.reconstruct(original: original), input) == nil, "malformed recipe: \(failure.reason)", sourceLocation: sourceLocation)
        return .malformed(reason: failure.reason)
    }
}

/// Splits `input` whole, byte by byte and in seeded random chunkings, expects the same
/// verdict from each, and returns it.
func splitEveryWay(_ input: [UInt8], limits: JournalReportSplitter.Limits = .init(), seed: UInt64 = 24,
                   sourceLocation: SourceLocation = #_sourceLocation) -> SplitVerdict {
    let whole = split(input, limits: limits, sourceLocation: sourceLocation) { input.count }
    let single = split(input, limits: limits, sourceLocation: sourceLocation) { 1 }
    #expect(single == whole, "byte by byte differs", sourceLocation: sourceLocation)
    var random = SplitMix64(seed: seed)
    for bound in [3, 17, 100, 1500, 70_000] {
        for _ in 0..<4 {
            let chunked = split(input, limits: limits, sourceLocation: sourceLocation) { Int.random(in: 1...bound, using: &random) }
            #expect(chunked == whole, "chunks up to \(bound) differ", sourceLocation: sourceLocation)
        }
    }
    return whole
}
