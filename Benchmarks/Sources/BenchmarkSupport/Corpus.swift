import Foundation
import NIOCore

/// The shared SpamAssassin corpus as an SMTP client would send it: the mbox `From ` line
/// some files start with removed, every line ending in CRLF.
///
/// The benchmarks run on real mail rather than generated text because the costs measured
/// depend on it: zstd's ratio and speed on header boilerplate and base64, and how often
/// a line ending or a leading dot breaks the decoders' fast runs.
public enum Corpus {
    /// `ARCHIVERELAY_CORPUS` when set, else `shared/corpus/spamassassin` beside the
    /// repository (where CI lays `shared/`), else the workplace's copy.
    public static let directory: String = {
        if let path = ProcessInfo.processInfo.environment["ARCHIVERELAY_CORPUS"] { return path }
        let repository = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().appendingPathComponent("../../../..").standardized
        let beside = repository.appendingPathComponent("shared/corpus/spamassassin").path
        return FileManager.default.fileExists(atPath: beside) ? beside : "/work/shared/corpus/spamassassin"
    }()

    /// Every message, by file name.
    public static let messages: [(name: String, bytes: [UInt8])] = {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0 != "LICENSE.txt" }.sorted()
        let loaded = names.compactMap { name in
            FileManager.default.contents(atPath: directory + "/" + name).map { (name, wireForm([UInt8]($0))) }
        }
        // Figures from generated text would not be comparable: fail rather than fall back.
        precondition(!loaded.isEmpty, "no corpus messages in \(directory) (set ARCHIVERELAY_CORPUS)")
        return loaded
    }()

    /// The message whose wire form is closest to `size` bytes: a real message rather than
    /// a cut or padded one, so its header/body mix stays natural.
    public static func message(near size: Int) -> (name: String, bytes: [UInt8]) {
        messages.min { abs($0.bytes.count - size) < abs($1.bytes.count - size) }!
    }

    /// Whole messages, in name order and repeated as needed, cut at `size` bytes on a
    /// line boundary: a large body with a realistic mix of text, HTML and base64.
    public static func body(size: Int) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(size + 64 << 10)
        while body.count < size {
            for message in messages where body.count < size { body += message.bytes }
        }
        var end = size
        while end > 0 && !(body[end - 2] == 13 && body[end - 1] == 10) { end -= 1 }
        return Array(body[..<end])
    }

    /// Drops a leading mbox `From ` line and writes every line ending (LF, CRLF, bare CR)
    /// as CRLF.
    static func wireForm(_ raw: [UInt8]) -> [UInt8] {
        var input = raw[...]
        if input.starts(with: Array("From ".utf8)) {
            input = input.drop { $0 != 10 }.dropFirst()
        }
        var output: [UInt8] = []
        output.reserveCapacity(input.count + input.count / 32)
        var previous: UInt8 = 0
        for byte in input {
            if byte == 10 {
                if previous != 13 { output.append(13) }
                output.append(10)
            } else {
                if previous == 13 { output.append(10) }
                output.append(byte)
            }
            previous = byte
        }
        if previous == 13 { output.append(10) }
        if output.last != 10 { output += [13, 10] }
        return output
    }
}

/// Splits `bytes` into buffers of at most `size` bytes, as reads from a socket arrive.
public func chunks(of bytes: [UInt8], size: Int) -> [ByteBuffer] {
    stride(from: 0, to: bytes.count, by: size).map { start in
        ByteBuffer(bytes: bytes[start..<min(bytes.count, start + size)])
    }
}
