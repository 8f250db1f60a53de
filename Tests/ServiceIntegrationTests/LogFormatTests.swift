import Foundation
@testable import LogFormats
import Logging
import Testing

/// The lines each format writes, read back the way a shipper or journald reads them.
@Suite struct LogFormatTests {
    /// Collects what a handler writes.
    final class Captured: @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""
        var output: LogOutput { LogOutput { line in self.lock.withLock { self.text += line } } }
        var lines: [String] { lock.withLock { text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) } }
    }

    static func object(_ line: String) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(parsed as? [String: Any], "not an object: \(line)")
    }

    @Test func jsonLinesCarryTheFieldsAndTheMetadata() throws {
        let captured = Captured()
        var logger = Logger(label: "archiverelay") { LineLogHandler(label: $0, level: .info, format: .json, output: captured.output, metadataProvider: nil) }
        logger[metadataKey: "node"] = "a"
        logger.debug("below the level")
        logger.notice("message stored \"quoted\"\nsecond line\u{1}", metadata: [
            "id": "42", "message": "clashes", "peer": ["host": "b", "port": "25"], "rcpt": ["x@example.com", "y@example.com"],
        ])
        let lines = captured.lines
        try #require(lines.count == 1, "\(lines)")
        let object = try Self.object(lines[0])
        #expect(object["level"] as? String == "notice")
        #expect(object["label"] as? String == "archiverelay")
        #expect(object["message"] as? String == "message stored \"quoted\"\nsecond line\u{1}")
        #expect(object["node"] as? String == "a")
        #expect(object["id"] as? String == "42")
        #expect(object["metadata.message"] as? String == "clashes")
        #expect((object["peer"] as? [String: Any])?["host"] as? String == "b")
        #expect(object["rcpt"] as? [String] == ["x@example.com", "y@example.com"])
        let time = try #require(object["time"] as? String)
        #expect(time.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(time)")
    }

    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"), (0.5, "1970-01-01T00:00:00.500Z"),
        (1_796_652_754.123_9, "2026-12-07T14:12:34.123Z"), (951_782_400.25, "2000-02-29T00:00:00.250Z"),
    ])
    func timesAreRFC3339InUTCWithMilliseconds(seconds: Double, expected: String) {
        #expect(RFC3339.milliseconds(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test func journaldLinesStartWithTheSyslogPriorityOfTheirLevel() throws {
        let captured = Captured()
        var logger = Logger(label: "archiverelay") { LineLogHandler(label: $0, level: .trace, format: .journald, output: captured.output, metadataProvider: nil) }
        logger[metadataKey: "node"] = "a"
        for level in Logger.Level.allCases { logger.log(level: level, "at \(level.rawValue)") }
        logger.error("first\nsecond")
        let lines = captured.lines
        #expect(lines.count == Logger.Level.allCases.count + 2)
        let expected = ["<7>", "<7>", "<6>", "<5>", "<4>", "<3>", "<2>", "<3>", "<3>"]
        for (line, prefix) in zip(lines, expected) { #expect(line.hasPrefix(prefix), "\(line)") }
        #expect(lines.contains { $0.hasPrefix("<4>archiverelay: node=a [") && $0.hasSuffix("] at warning") })
        #expect(lines.suffix(2) == [lines[lines.count - 2], "<3>second"])
    }

    @Test func journaldIsChosenOnlyWhenJournalStreamNamesStandardError() {
        let stderr = FileIdentity(device: 64769, inode: 12345)
        #expect(LogFormat.automatic(journalStream: "64769:12345", standardError: stderr) == .journald)
        #expect(LogFormat.automatic(journalStream: "64769:12346", standardError: stderr) == .text)
        #expect(LogFormat.automatic(journalStream: nil, standardError: stderr) == .text)
        #expect(LogFormat.automatic(journalStream: "64769:12345", standardError: nil) == .text)
        for malformed in ["", "64769", "64769:", ":12345", "a:b", "1:2:3", "-1:5"] {
            #expect(LogFormat.automatic(journalStream: malformed, standardError: stderr) == .text, "\(malformed)")
        }
    }

    @Test func fileIdentityIsWhatStatSays() throws {
        let path = NSTemporaryDirectory() + "log-identity-\(getpid())"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var status = stat()
        try #require(stat(path, &status) == 0)
        let identity = try #require(FileIdentity(descriptor: fd))
        #expect(identity == FileIdentity(journalStream: "\(status.st_dev):\(status.st_ino)"))
        #expect(FileIdentity(descriptor: -1) == nil)
    }
}
