import RouteEngine

/// Any bytes as the start of a message arriving with (or without) a trace field, fed in two
/// chunks split at a fuzzed point, to the stripper under each kind of trust and to the
/// returning-copy detector. What the stripper removes and what it passes on are the input
/// again, byte for byte, whatever the split: no byte of a client's message is lost.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let split = Int(bytes[0]) * (count - 1) / 255 + 1
    let input = Array(bytes[1...])
    let cut = min(split - 1, input.count)
    let key = TraceKey(bytes: Array(repeating: 0x5c, count: TraceKey.minimumLength), scope: .chain)!
    var reference: [UInt8]?
    for trust in [TraceTrust.untrusted, .byListener, .byKey(key)] {
        var whole = TraceStripper(trust: trust)
        var passedWhole = whole.consume(input[...])
        passedWhole += whole.finish()
        precondition(whole.prepended + passedWhole == input, "bytes lost or invented (whole)")
        var chunked = TraceStripper(trust: trust)
        var passed = chunked.consume(input[..<cut])
        passed += chunked.consume(input[cut...])
        passed += chunked.finish()
        precondition(passed == passedWhole && chunked.prepended == whole.prepended, "the split changed the result")
        _ = chunked.standing
        _ = chunked.unverifiedTrace
        if case .untrusted = trust { reference = passed }
    }
    precondition(reference == input, "an untrusted listener changed the message")
    if let node = NodeID("node-a") {
        var detector = ReturningCopyDetector(nodeID: node, key: key)
        detector.consume(input[..<cut])
        detector.consume(input[cut...])
        _ = detector.finish()
    }
    return 0
}
