import MessageText
/// A multipart body's boundary and the RFC 2046 (section 5.1.1) rule for its delimiter
/// lines: the line break before it, "--" boundary, "--" for the close delimiter, transport
/// padding (spaces and tabs), the line break. Boundaries compare case-sensitively, and a
/// line that only starts with the delimiter is not one.
struct MIMEBoundary: Sendable, Equatable {
    /// "--" followed by the boundary.
    let dashBoundary: [UInt8]

    /// RFC 2046 allows 1…70 characters; a little more is tolerated, no more than this.
    static let maximumLength = 200
    /// Transport padding past this many spaces or tabs makes the line no delimiter, so that
    /// judging a line never needs more than `maximumCandidate` bytes.
    static let maximumPadding = 998

    init?(_ boundary: String) {
        let bytes = Array(boundary.utf8)
        guard !bytes.isEmpty, bytes.count <= Self.maximumLength else { return nil }
        dashBoundary = Array("--".utf8) + bytes
    }

    /// The most bytes `judge` reads before it answers.
    var maximumCandidate: Int { 2 + dashBoundary.count + 2 + Self.maximumPadding + 2 }

    enum Judgement: Equatable {
        case notDelimiter
        /// A delimiter of `length` bytes from where judging started, its line break included.
        case delimiter(length: Int, close: Bool)
        /// The bytes ran out first; `ifEnded` is the verdict if the message ends here
        /// (nil: not a delimiter, else whether it is the close delimiter).
        case needMore(ifEnded: Bool?)
    }

    /// Judges the bytes of `b` from `start`: with `leadingBreak`, a CRLF or LF must come
    /// first (it belongs to the delimiter); without, `start` is the start of a line.
    func judge(_ b: UnsafeRawBufferPointer, at start: Int, leadingBreak: Bool) -> Judgement {
        let n = b.count
        var i = start
        if leadingBreak {
            guard i < n else { return .needMore(ifEnded: nil) }
            if b[i] == Byte.cr {
                i += 1
                guard i < n else { return .needMore(ifEnded: nil) }
                guard b[i] == Byte.lf else { return .notDelimiter }
                i += 1
            } else if b[i] == Byte.lf {
                i += 1
            } else {
                return .notDelimiter
            }
        }
        for expected in dashBoundary {
            guard i < n else { return .needMore(ifEnded: nil) }
            guard b[i] == expected else { return .notDelimiter }
            i += 1
        }
        var close = false
        if i < n, b[i] == Byte.dash {
            guard i + 1 < n else { return .needMore(ifEnded: nil) }
            guard b[i + 1] == Byte.dash else { return .notDelimiter }
            close = true
            i += 2
        }
        var padding = 0
        while i < n, b[i] == Byte.space || b[i] == Byte.tab {
            i += 1
            padding += 1
            if padding > Self.maximumPadding { return .notDelimiter }
        }
        guard i < n else { return .needMore(ifEnded: close) }
        switch b[i] {
        case Byte.lf:
            return .delimiter(length: i + 1 - start, close: close)
        case Byte.cr:
            guard i + 1 < n else { return .needMore(ifEnded: nil) }
            return b[i + 1] == Byte.lf ? .delimiter(length: i + 2 - start, close: close) : .notDelimiter
        default:
            return .notDelimiter
        }
    }

    /// Whether one whole line (`line`, its line break included when it has one; without
    /// one it is the message's last) is a delimiter: nil if not, else whether it closes.
    func delimiterLine(_ line: UnsafeRawBufferPointer) -> Bool? {
        switch judge(line, at: 0, leadingBreak: false) {
        case .notDelimiter: return nil
        case .delimiter(_, let close): return close
        case .needMore(let ifEnded): return ifEnded
        }
    }
}
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension UnsafeRawBufferPointer {
    /// Index of the first LF at or after `from` (memchr: the scan that runs over every
    /// byte of an original).
    func indexOfLineFeed(from: Int) -> Int? {
        guard let base = baseAddress, from < count else { return nil }
        guard let found = memchr(base + from, Int32(Byte.lf), count - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }
}
