import DurableFiles
import Foundation

/// The end of the log as an append needs it: where the last complete line ends, what
/// follows it (a torn line), and that last line. Reads backwards from the end, so an
/// append costs the same however long the log is.
struct AuditLogTail {
    /// The offset after the last newline: where the next line goes.
    var completeEnd = 0
    /// Bytes after the last newline: a line a crash cut short.
    var tornBytes = 0
    /// The last complete line, without its newline; nil for an empty log.
    var lastLine: ArraySlice<UInt8>?

    init(file: SystemFile) throws(FileIOError) {
        let size = try file.size()
        var window = 64 * 1024
        while true {
            let start = max(0, size - window)
            let bytes = try file.read(at: start, count: size - start)[...]
            if let end = bytes.lastIndex(of: 0x0A) {
                completeEnd = start + end + 1
                tornBytes = size - completeEnd
                if let previous = bytes[..<end].lastIndex(of: 0x0A) {
                    lastLine = bytes[(previous + 1)..<end]
                    return
                }
                if start == 0 {
                    lastLine = bytes[..<end]
                    return
                }
            } else if start == 0 {
                tornBytes = size
                return
            }
            window *= 4
        }
    }
}

/// The whole log split at newlines: the complete lines, with where each starts, and what
/// follows the last newline.
struct AuditLogLines {
    var complete: [Substring] = []
    var tornOffset = 0
    var tornBytes = 0

    init(bytes: [UInt8]) {
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == 0x0A {
            complete.append(Substring(decoding: bytes[start..<index], as: UTF8.self))
            start = index + 1
        }
        tornOffset = start
        tornBytes = bytes.count - start
    }
}

/// `audit.head`: the last entry's sequence and hash, `{"seq":N,"hash":"…"}` and a newline,
/// replaced atomically (temp, fsync, rename, fsync directory) after every append.
enum AuditHead {
    static func write(_ tail: AuditChainTail, to path: String) throws {
        let text = "{\"seq\":\(tail.sequence),\"hash\":\(AuditJSON.quote(tail.hash))}\n"
        try Durable.writeAtomically(Array(text.utf8), to: path, faults: nil)
    }

    /// nil when there is no head file (a new log, or a crash before the first head write).
    static func read(_ path: String) throws -> AuditChainTail? {
        let bytes = try Durable.readAllIfPresent(path)
        guard !bytes.isEmpty || FileManager.default.fileExists(atPath: path) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let sequence = (object["seq"] as? NSNumber)?.intValue, sequence >= 1,
              let hash = object["hash"] as? String, AuditJSON.isHash(hash) else {
            throw AuditHeadError(path: path)
        }
        return AuditChainTail(sequence: sequence, hash: hash)
    }
}

/// The head file exists but does not hold a sequence and a hash.
struct AuditHeadError: Error, CustomStringConvertible {
    var path: String
    var description: String { "the head \(path) is unreadable; run `archiverelay archive audit verify`" }
}
