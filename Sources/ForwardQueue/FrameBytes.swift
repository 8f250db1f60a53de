import DurableFiles

/// Why frame bytes could not be read; never a trap on short or garbage input.
struct FrameDecodingError: Error, Equatable, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

extension FrameDecodingError: ByteReadFailure {
    static func truncated(byteCount: Int) -> FrameDecodingError {
        FrameDecodingError(reason: "field of \(byteCount) bytes runs past the end of the frame")
    }

    static var invalidUTF8: FrameDecodingError { FrameDecodingError(reason: "invalid UTF-8") }
}

/// Reads the little-endian fields of a journal frame (docs/FORMAT.md, "Forward queue").
typealias FrameReader = ByteReader<FrameDecodingError>
