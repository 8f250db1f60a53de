import SMTPProtocol

/// Any byte string as a command line: the parser must return a command or an error, never crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        _ = SMTPCommandParser.parse(line)
    }
    return 0
}
