import Foundation
import Logging
@testable import ForwardQueue

/// A fresh temporary data directory, removed when the closure returns.
func withDataDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = NSTemporaryDirectory() + "queue-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

let quietLogger: Logger = {
    var logger = Logger(label: "queue-test")
    logger.logLevel = .critical
    return logger
}()

func item(_ n: Int, connection: String = "peer-a", size: UInt64 = 100) -> QueueItem {
    QueueItem(connection: connection, reference: .archive(segment: 1, offset: 72 + n * 8), size: size,
              sender: "journal@example.test", recipients: ["audit\(n)@example.test"], prefix: Array("X-Trace: \(n)\r\n".utf8))
}

func entry(_ id: UInt64, connection: String = "peer-a", size: UInt64 = 100) -> QueueEntry {
    QueueEntry(id: id, item: item(Int(id), connection: connection, size: size), enqueuedAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(id)))
}

func readBytes(_ path: String) -> [UInt8] { FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? [] }
func writeBytes(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

/// Writes `records` as a journal file in `dir` (the layout's path) and returns the frame offsets.
@discardableResult
func writeJournal(_ layout: QueueLayout, _ records: [JournalRecord]) throws -> [Int] {
    try FileManager.default.createDirectory(atPath: layout.spoolDirectory, withIntermediateDirectories: true)
    var bytes: [UInt8] = []
    var offsets: [Int] = []
    for record in records {
        offsets.append(bytes.count)
        bytes += JournalFrame.encode(record)
    }
    try writeBytes(layout.journalPath, bytes)
    return offsets
}
