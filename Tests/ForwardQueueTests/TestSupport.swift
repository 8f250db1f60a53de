import Foundation
import Logging
@testable import ForwardQueue
import TestSupport

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
    try writeFile(layout.journalPath, bytes)
    return offsets
}
