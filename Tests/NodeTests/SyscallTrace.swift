import Foundation

/// One system call from a trace written by `strace -f -y -xx -o FILE`: every string and
/// every descriptor's path hex-escaped (`\x2f`), so no quote, comma or parenthesis inside
/// data can be taken for syntax.
struct TracedCall {
    var thread: Int
    var name: String
    /// The argument list as printed, without the parentheses.
    var arguments: String
    /// What follows ` = `: `0`, `5<path>`, `-1 ENOENT (...)`, `?`.
    var result: String
    /// Trace lines where the call entered and where it returned. strace prints events in
    /// the order it sees them, and a thread stays stopped until strace has printed its
    /// event, so a call that returned on an earlier line than another entered really
    /// returned first.
    var entered: Int
    var returned: Int

    /// Whether this call returned before `other` entered.
    func precedes(_ other: TracedCall) -> Bool { returned < other.entered }

    /// The return value; nil for `?`.
    var value: Int? { Int(result.prefix { $0 == "-" || $0.isNumber }) }
    var succeeded: Bool { (value ?? -1) >= 0 }

    /// The path of the first descriptor argument (`-y` prints `5<path>`).
    var descriptorPath: String? { SyscallTrace.firstAnnotation(arguments) }
    /// The path of the descriptor the call returned (openat).
    var resultPath: String? { SyscallTrace.firstAnnotation(result) }
    /// The string arguments, decoded.
    var strings: [[UInt8]] { SyscallTrace.strings(arguments) }
    /// The last argument as a number (pwrite64's offset).
    var lastNumber: Int? { arguments.components(separatedBy: ", ").last.flatMap { Int($0) } }
}

/// Parses a trace of `strace -f`. Threads interleave: a call another event interrupts is
/// printed as `name(args <unfinished ...>`, its end later as `<... name resumed>rest) = r`;
/// the halves are joined by thread id. Signals and exits (`---`, `+++`) are skipped.
enum SyscallTrace {
    static func parse(_ text: String) -> [TracedCall] {
        var calls: [TracedCall] = []
        var open: [Int: TracedCall] = [:]  // thread → entered, not yet returned
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let digits = line.prefix { $0.isNumber }
            guard let thread = Int(digits) else { continue }
            let rest = line.dropFirst(digits.count).drop { $0 == " " }
            if rest.hasPrefix("<... ") {
                guard let close = rest.range(of: " resumed>"), var call = open.removeValue(forKey: thread),
                      let (more, result) = splitResult(rest[close.upperBound...])
                else { continue }
                call.arguments += more
                call.result = result
                call.returned = number
                calls.append(call)
            } else if let paren = rest.firstIndex(of: "("), rest.first?.isLetter == true {
                let name = String(rest[..<paren])
                let body = rest[rest.index(after: paren)...]
                if body.hasSuffix(" <unfinished ...>") {
                    open[thread] = TracedCall(thread: thread, name: name, arguments: String(body.dropLast(" <unfinished ...>".count)),
                                              result: "", entered: number, returned: number)
                } else if let (arguments, result) = splitResult(body) {
                    calls.append(TracedCall(thread: thread, name: name, arguments: arguments, result: result, entered: number, returned: number))
                }
            }
        }
        return calls
    }

    /// `args) = result` → (args, result), at the last ` = ` (no result holds one); strace
    /// pads with spaces between the parenthesis and the `=`.
    private static func splitResult(_ text: Substring) -> (String, String)? {
        guard let equals = text.range(of: " = ", options: .backwards),
              let close = text[..<equals.lowerBound].lastIndex(where: { $0 != " " }), text[close] == ")"
        else { return nil }
        return (String(text[..<close]), String(text[equals.upperBound...]))
    }

    /// The decoded text of the first `<...>` annotation.
    static func firstAnnotation(_ text: String) -> String? {
        guard let start = text.firstIndex(of: "<"), let end = text[start...].firstIndex(of: ">") else { return nil }
        return String(decoding: unescape(text[text.index(after: start)..<end]), as: UTF8.self)
    }

    /// Every quoted string, decoded.
    static func strings(_ text: String) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var rest = text[...]
        while let start = rest.firstIndex(of: "\"") {
            let body = rest[rest.index(after: start)...]
            guard let end = body.firstIndex(of: "\"") else { break }
            result.append(unescape(body[..<end]))
            rest = body[body.index(after: end)...]
        }
        return result
    }

    /// `\xHH` escapes to bytes; any other character as itself.
    static func unescape(_ text: Substring) -> [UInt8] {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let first = utf8.first {
            if first == UInt8(ascii: "\\"), utf8.count >= 4, utf8.dropFirst().first == UInt8(ascii: "x"),
               let byte = UInt8(String(decoding: utf8.dropFirst(2).prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(byte)
                utf8 = utf8.dropFirst(4)
            } else {
                bytes.append(first)
                utf8 = utf8.dropFirst()
            }
        }
        return bytes
    }
}
