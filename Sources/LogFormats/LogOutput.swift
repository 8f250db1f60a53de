import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a formatted log line goes: stderr, or (in tests) a closure. Lines from every
/// thread are written whole, one `write(2)` loop under one lock, so they never interleave.
public struct LogOutput: Sendable {
    let write: @Sendable (String) -> Void

    public init(_ write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    public static let standardError = LogOutput { line in
        stderrLock.withLock {
            var bytes = Array(line.utf8)  // var: write(2) takes a mutable base here
            var start = 0
            while start < bytes.count {
                let written = bytes.withUnsafeMutableBytes { buffer -> Int in
                    guard let base = buffer.baseAddress else { return -1 }
                    return Foundation.write(STDERR_FILENO, base + start, buffer.count - start)
                }
                if written > 0 {
                    start += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return  // stderr is gone: nothing left to tell
                }
            }
        }
    }
}

private let stderrLock = NSLock()

/// The metadata of one log event as swift-log's own handlers merge it: the handler's, then
/// the provider's, then the call's, each winning over the one before, and the event's error.
enum EventMetadata {
    static func merge(base: Logger.Metadata, provider: Logger.MetadataProvider?, event: LogEvent) -> Logger.Metadata {
        var metadata = base
        if let provided = provider?.get(), !provided.isEmpty {
            metadata.merge(provided) { $1 }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            metadata.merge(explicit) { $1 }
        }
        if let error = event.error {
            metadata["error.message"] = "\(error)"
            metadata["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return metadata
    }
}
