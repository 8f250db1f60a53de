import MessageText

/// Any bytes as an archived original, fed to the extractor in 3 chunks split at positions
/// taken from the input's first two bytes (the first byte's top bit also picks small
/// limits, to reach the truncation paths). The result equals the whole input's, and the
/// body stays within its limit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 2 else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let input = Array(bytes[2...])
    let limits = bytes[0] & 0x80 != 0
        ? MessageTextLimits(maxDepth: 3, maxParts: 8, maxHeaderBytes: 256, maxTextBytes: 512)
        : MessageTextLimits.standard
    let cuts = [Int(bytes[0] & 0x7F) * input.count / 128, Int(bytes[1]) * input.count / 256].sorted()
    var extractor = MessageTextExtractor(limits: limits)
    extractor.feed(input[..<cuts[0]])
    extractor.feed(input[cuts[0]..<cuts[1]])
    extractor.feed(input[cuts[1]...])
    let chunked = extractor.finish()
    let whole = MessageTextExtractor.extract(input, limits: limits)
    precondition(chunked == whole, "the result depends on the split")
    precondition(whole.body.utf8.count <= limits.maxTextBytes, "body past its limit")
    _ = SearchText.segmented(whole.body)
    return 0
}
