import ForwardQueue
import RelayConfiguration

/// Any bytes as a configuration file, taken the way `check-config` takes its text: decoded,
/// then every check. The answer is a configuration or at least one problem, never a crash;
/// a configuration's connections must also be settings the forward queue accepts (what
/// `serve` hands it next). Certificate and key paths are judged by their spelling, not
/// looked up on this machine, so both answers are reached and every run is the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    // check-config reads the file as UTF-8 and stops at anything else.
    guard let text = String(validating: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self) else {
        return 0
    }
    switch ConfigurationCheck.check(text: text, environment: environment) {
    case .success(let validated):
        precondition(!validated.listeners.isEmpty, "a configuration without a listener passed")
        for peer in validated.peers {
            let problems = peer.problems
            precondition(problems.isEmpty, "a checked connection the queue refuses: \(problems)")
            precondition(peer.heloName != nil, "a checked connection without its EHLO name")
        }
    case .failure(let problems):
        precondition(!problems.errors.isEmpty, "refused without a reason")
    }
    return 0
}

/// Paths under /missing do not exist; every other path reads, and a key file holds a key
/// (no file is opened).
private let environment = ConfigurationCheck.Environment(hostName: "fuzz-host", unreadable: { path in
    path.hasPrefix("/missing") ? "does not exist" : nil
}, contents: { _ in String(repeating: "ab", count: 32) })

/// TOMLKit frees nothing its parser allocates (the C++ table, the error text, the error slot;
/// LebJe/TOMLKit#26), so LeakSanitizer would stop at the first input. Only leaks whose
/// allocation is inside TOMLKit's C++ core or `TOMLTable(string:)` are let through; a leak
/// anywhere else still stops the run.
@_cdecl("__lsan_default_suppressions")
public func leakSuppressions() -> UnsafePointer<CChar> {
    UnsafeRawPointer(suppressions.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// Without a table of suppressions after every leak check.
@_cdecl("__lsan_default_options")
public func leakOptions() -> UnsafePointer<CChar> {
    UnsafeRawPointer(options.utf8Start).assumingMemoryBound(to: CChar.self)
}

private let suppressions: StaticString = "leak:/CTOML/Sources/\nleak:TOMLTable.swift\n"
private let options: StaticString = "print_suppressions=0"
