/// The streaming MIME parser that turns an archived original into `MessageText`.
///
/// Push: `feed` any split of the message, then `finish`; the result does not depend on
/// the split. The input is read as lines (a line longer than
/// `MessageTextLimits.boundaryLineBytes` in pieces), so what is held is one line, one
/// header section (up to `maxHeaderBytes`), the transfer decoder's few bytes and the
/// current text part's decoded bytes (within `maxTextBytes`, converted to UTF-8 when the
/// part ends). Work is linear: every line is compared with the open boundaries, at most
/// `maxDepth` of them.
public struct MessageTextExtractor {
    public let limits: MessageTextLimits
    var result = MessageText()
    /// The line being assembled, without its LF until complete.
    var line: [UInt8] = []
    /// `line` continues a line already passed on in pieces (so it is no boundary).
    var lineContinues = false
    var frames: [MultipartFrame] = []
    var entity: EntityState
    var entities = 1

    public init(limits: MessageTextLimits = .standard) {
        self.limits = limits
        entity = .header(HeaderCollector(depth: 0, role: .top, defaultType: "text/plain"))
    }

    public mutating func feed(_ chunk: some Collection<UInt8>) {
        // One concrete loop: called across modules, a generic one ran unspecialized, each
        // byte through witness tables (half of the search indexer's time).
        feedBytes(Array(chunk))
    }

    private mutating func feedBytes(_ chunk: [UInt8]) {
        var i = chunk.startIndex
        while i != chunk.endIndex {
            let room = MessageTextLimits.boundaryLineBytes - line.count
            let window = chunk[i...].prefix(room)
            if let lf = window.firstIndex(of: Byte.lf) {
                line.append(contentsOf: chunk[i...lf])
                i = chunk.index(after: lf)
                handleLine(complete: true)
            } else {
                line.append(contentsOf: window)
                i = window.endIndex
                if line.count >= MessageTextLimits.boundaryLineBytes {
                    // A CR at a piece's end may begin the line's CRLF: it waits for the next piece.
                    let heldCR = line.last == Byte.cr
                    if heldCR { line.removeLast() }
                    handleLine(complete: false)
                    if heldCR { line.append(Byte.cr) }
                }
            }
        }
    }

    public mutating func finish() -> MessageText {
        if !line.isEmpty { handleLine(complete: true) }
        closeEntity()
        return result
    }

    public static func extract(_ message: some Collection<UInt8>, limits: MessageTextLimits = .standard) -> MessageText {
        var extractor = MessageTextExtractor(limits: limits)
        extractor.feed(message)
        return extractor.finish()
    }

    // MARK: Lines

    private mutating func handleLine(complete: Bool) {
        defer {
            line.removeAll(keepingCapacity: true)
            lineContinues = !complete
        }
        if !lineContinues, !frames.isEmpty, line.count >= 2, line[0] == Byte.dash, line[1] == Byte.dash, let match = matchBoundary() {
            closeEntity()
            frames.removeLast(frames.count - match.frame - (match.close ? 0 : 1))
            if match.close {
                entity = .skip
            } else {
                startPart(depth: match.depth, defaultType: match.defaultType)
            }
            return
        }
        switch entity {
        case .header(var collector):
            entity = .skip  // not held twice while it grows
            let isBlank = line == [Byte.lf] || line == [Byte.cr, Byte.lf]
            let blank = !lineContinues && isBlank
            let startsBody = !lineContinues && !HeaderSection.isHeaderLine(line[...]) && !isBlank
            if blank || startsBody {
                endHeader(collector)
                if startsBody { feedBody(line[...], complete: complete) }
                return
            }
            if !collector.full, collector.bytes.count + line.count <= limits.maxHeaderBytes {
                collector.bytes.append(contentsOf: line)
            } else {
                // Past the limit nothing more is kept, so no later line joins a cut field.
                collector.full = true
                result.truncated = true
            }
            entity = .header(collector)
        case .skip:
            break
        case .text:
            feedBody(line[...], complete: complete)
        }
    }

    struct BoundaryMatch {
        var frame: Int
        var close: Bool
        var depth: Int
        var defaultType: String
    }

    /// The innermost open multipart whose delimiter this line is: "--" boundary, "--"
    /// for the close delimiter, then only white space (RFC 2046 section 5.1.1). An outer
    /// boundary closes the inner multiparts (a missing close delimiter is tolerated).
    private func matchBoundary() -> BoundaryMatch? {
        for index in frames.indices.reversed() {
            let boundary = frames[index].boundary
            guard line.count >= 2 + boundary.count, line[2..<(2 + boundary.count)].elementsEqual(boundary) else { continue }
            var rest = line[(2 + boundary.count)...]
            var close = false
            if rest.starts(with: [Byte.dash, Byte.dash]) {
                close = true
                rest = rest.dropFirst(2)
            }
            guard rest.allSatisfy(HeaderSection.isWhite) else { continue }
            return BoundaryMatch(frame: index, close: close, depth: frames[index].childDepth, defaultType: frames[index].childDefaultType)
        }
        return nil
    }

    private mutating func startPart(depth: Int, defaultType: String) {
        entities += 1
        guard entities <= limits.maxParts else {
            result.truncated = true
            entity = .skip
            return
        }
        entity = .header(HeaderCollector(depth: depth, role: .part, defaultType: defaultType))
    }

    private mutating func feedBody(_ bytes: ArraySlice<UInt8>, complete: Bool) {
        guard case .text(var part) = entity else { return }
        entity = .skip
        part.feedLine(bytes, complete: complete)
        entity = .text(part)
    }

    /// Ends whatever entity is open: a header section without its body is read as a
    /// part with an empty body; a text part's text joins `body`.
    mutating func closeEntity() {
        while case .header(let collector) = entity {
            entity = .skip
            endHeader(collector)
        }
        if case .text(var part) = entity {
            entity = .skip
            appendBody(part.finish())
            if part.overflowed { result.truncated = true }
        }
        entity = .skip
    }

    /// Adds text to `body` within `maxTextBytes`, cut at a character boundary.
    mutating func appendBody(_ text: String) {
        guard !text.isEmpty else { return }
        let room = limits.maxTextBytes - result.body.utf8.count
        var piece = text
        if piece.utf8.count + 1 > room {
            result.truncated = true
            guard room > 1 else { return }
            var end = piece.utf8.index(piece.utf8.startIndex, offsetBy: room - 1)
            while end > piece.startIndex, !piece.unicodeScalars.indices.contains(end) { end = piece.utf8.index(before: end) }
            piece = String(piece[..<end])
        }
        if !result.body.isEmpty { result.body += "\n" }
        result.body += piece
    }

    var textRoom: Int { max(0, limits.maxTextBytes - result.body.utf8.count) }
}

/// An open multipart: its boundary, and what its body parts are.
struct MultipartFrame {
    var boundary: [UInt8]
    var childDepth: Int
    /// text/plain, or message/rfc822 inside multipart/digest (RFC 2046 section 5.1.5).
    var childDefaultType: String
}

enum EntityState {
    case header(HeaderCollector)
    /// A body that gives no text: a preamble or epilogue, a non-text leaf, a part past a limit.
    case skip
    case text(TextPart)
}

/// A header section being read.
struct HeaderCollector {
    enum Role { case top, part, nestedMessage }
    var depth: Int
    var role: Role
    var defaultType: String
    var bytes: [UInt8] = []
    var full = false
}
