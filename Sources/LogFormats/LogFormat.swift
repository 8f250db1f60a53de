import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How `serve` writes its log to stderr: `text` (swift-log's stream format, for a
/// terminal), `json` (one object per line, for shippers that read files) or `journald`
/// (text with sd-daemon(3) `<N>` priority prefixes, for stderr connected to the journal).
public enum LogFormat: String, CaseIterable, Sendable {
    case text, json, journald

    /// The format when none is asked for: `journald` when systemd says stderr is the
    /// journal (`JOURNAL_STREAM` names stderr's device and inode; systemd.exec(5)), else `text`.
    /// A `JOURNAL_STREAM` inherited by a process whose stderr was redirected names another file.
    public static func automatic(journalStream: String?, standardError: FileIdentity?) -> LogFormat {
        guard let journalStream, let journal = FileIdentity(journalStream: journalStream),
              let standardError, journal == standardError else { return .text }
        return .journald
    }

    /// `automatic` for this process: its environment and its file descriptor 2.
    public static func automatic() -> LogFormat {
        automatic(journalStream: ProcessInfo.processInfo.environment["JOURNAL_STREAM"],
                  standardError: FileIdentity(descriptor: STDERR_FILENO))
    }

    /// A handler writing this format to stderr.
    public func makeHandler(label: String, level: Logger.Level) -> any LogHandler {
        switch self {
        case .text:
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        case .json:
            return LineLogHandler(label: label, level: level, format: .json, output: .standardError)
        case .journald:
            return LineLogHandler(label: label, level: level, format: .journald, output: .standardError)
        }
    }
}

/// A file's device and inode: what `JOURNAL_STREAM` names (`"<device>:<inode>"`, decimal).
public struct FileIdentity: Equatable, Sendable {
    public let device: UInt64
    public let inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// Parses `"<device>:<inode>"`; nil for anything else.
    public init?(journalStream: String) {
        let parts = journalStream.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        self.init(device: device, inode: inode)
    }

    /// The file open at `descriptor`; nil when it is closed.
    public init?(descriptor: Int32) {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        self.init(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
}
