import JournalReport

/// Any bytes as a message arriving on a journaling listener, fed to the splitter in chunks
/// whose two alternating sizes come from the input's first two bytes (the first byte's top
/// bit also picks small limits, to reach the limit paths). Whatever the outcome, nothing
/// is lost: `.notAReport` holds every byte fed, and a report's or a failure's recipe
/// rebuilds every byte fed from the original passed on.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 2 else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let sizes = [Int(bytes[0] & 0x7F) + 1, Int(bytes[1]) * 16 + 1]
    let input = Array(bytes[2...])
    var limits = JournalReportSplitter.Limits()
    if bytes[0] & 0x80 != 0 {
        limits.headerSection = 512
        limits.wrapper = 2048
    }
    var splitter = JournalReportSplitter(limits: limits)
    var original: [UInt8] = []
    var fed = 0
    var turn = 0
    while fed < input.count {
        let size = min(sizes[turn % 2], input.count - fed)
        turn += 1
        let progress = input[fed..<(fed + size)].withUnsafeBytes { chunk in
            splitter.feed(chunk) { original.append(contentsOf: $0) }
        }
        fed += size
        switch progress {
        case .deciding:
            precondition(original.isEmpty, "original passed before the decision")
        case .report:
            continue
        case .notAReport(let held):
            precondition(held == Array(input[..<fed]) && original.isEmpty, "not a report, but bytes lost")
            return 0
        case .failed(let failure):
            precondition(failure.recipe.reconstruct(original: original) == Array(input[..<fed]), "failure recipe does not rebuild the bytes fed")
            return 0
        }
    }
    switch splitter.finish(original: { original.append(contentsOf: $0) }) {
    case .notAReport(let held):
        precondition(held == input && original.isEmpty, "not a report, but bytes lost")
    case .report(let envelope, let recipe):
        precondition(recipe.reconstruct(original: original) == input, "report recipe does not rebuild the input")
        precondition(!original.isEmpty, "a report with an empty original")
        _ = (envelope.senders, envelope.recipientAddresses)
        precondition((try? WrapperRecipe(decoding: recipe.encoded)) == recipe, "the recipe's stored form does not read back")
    case .malformed(let failure):
        precondition(failure.recipe.reconstruct(original: original) == input, "malformed recipe does not rebuild the input")
    }
    return 0
}
