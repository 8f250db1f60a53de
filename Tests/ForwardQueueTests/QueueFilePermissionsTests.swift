import ArchiveStore
import DurableFiles
import Foundation
import TestSupport
import Testing
@testable import ForwardQueue

/// The queue's journal and spool hold envelopes: owner and group only, and never written
/// through a link planted where the queue creates a file.
struct QueueFilePermissionsTests {
    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
    }

    @Test func queueFilesAreNotOpenToOthersAndCompactionIgnoresAPlantedLink() throws {
        try withTempLayout { layout in
            let lock = try layout.takeLock()
            defer { lock.release() }
            let (journal, _) = try QueueJournal.open(layout: layout, compactionThreshold: 1 << 30)
            defer { journal.close() }
            _ = try journal.commit([.enqueue(entry(1))])
            let victim = layout.dataDirectory + "/victim"
            try writeFile(victim, Array("keep".utf8))
            #expect(symlink(victim, layout.journalPath + ".tmp") == 0)
            try journal.compact()
            #expect(readFile(victim) == Array("keep".utf8), "compaction wrote through journal.tmp")

            for path in [layout.queueDirectory, layout.spoolDirectory, layout.journalPath, layout.lockPath] {
                let mode = try #require(Self.mode(path), "\(path) missing")
                #expect(mode & 0o027 == 0, "\(path) has mode \(String(mode, radix: 8))")
            }
        }
    }

    /// A create of a spool file or the journal refuses a link at its path.
    @Test func aCreateDoesNotFollowALink() throws {
        try withTempLayout { layout in
            try FilePermissions.createDirectories(layout.spoolDirectory)
            let victim = layout.dataDirectory + "/victim"
            try writeFile(victim, Array("keep".utf8))
            #expect(symlink(victim, layout.spoolPath("m1.rec")) == 0)
            #expect(throws: FileIOError.self) { try SystemFile.open(layout.spoolPath("m1.rec"), flags: O_WRONLY | O_CREAT | O_TRUNC) }
            #expect(readFile(victim) == Array("keep".utf8))
        }
    }
}
