import DurableFiles
import Foundation
import TestSupport
import Testing
@testable import ArchiveStore

/// `archive export` is a read-only command: wherever `--out` points, it never writes
/// inside the data directory, never through a symlink, and replaces an existing file only
/// when asked to (and then by rename, so the old file's other names keep their bytes).
struct ExportSafetyTests {
    /// Where a case points the export, set up in `<dir>` next to `<dir>/data` and
    /// `<dir>/victim` (a file holding "keep" that nothing may change).
    enum Target: String, CaseIterable, CustomTestStringConvertible {
        case mboxThroughLink, emlTempLinks, segmentFile, linkIntoArchive, dotDotIntoArchive, emlInsideArchive, existingMbox, existingEml

        var testDescription: String { rawValue }
        var format: ExportFormat { [.emlTempLinks, .emlInsideArchive, .existingEml].contains(self) ? .eml : .mbox }

        /// Plants what the case needs and returns the `--out` path.
        func prepare(dir: String, ids: [String], segment: String) throws -> String {
            let victim = dir + "/victim"
            switch self {
            case .mboxThroughLink:
                guard symlink(victim, dir + "/out.mbox") == 0 else { throw FileIOError(operation: "symlink", path: dir, errno: errno) }
                return dir + "/out.mbox"
            case .emlTempLinks:
                try FileManager.default.createDirectory(atPath: dir + "/eml", withIntermediateDirectories: false)
                for id in ids where symlink(victim, "\(dir)/eml/\(id).eml.tmp") != 0 {
                    throw FileIOError(operation: "symlink", path: id, errno: errno)
                }
                return dir + "/eml"
            case .segmentFile: return segment
            case .linkIntoArchive:
                guard symlink(dir + "/data/archive", dir + "/link") == 0 else { throw FileIOError(operation: "symlink", path: dir, errno: errno) }
                return dir + "/link/out.mbox"
            case .dotDotIntoArchive: return dir + "/nowhere/../data/archive/out.mbox"
            case .emlInsideArchive: return dir + "/data/archive/export"
            case .existingMbox:
                try writeFile(dir + "/old.mbox", Array("old".utf8))
                return dir + "/old.mbox"
            case .existingEml:
                try FileManager.default.createDirectory(atPath: dir + "/eml", withIntermediateDirectories: false)
                try writeFile("\(dir)/eml/\(ids[0]).eml", Array("old".utf8))
                return dir + "/eml"
            }
        }

        /// What the export must do: refuse (and why), or write.
        func expected(overwrite: Bool) -> ExportRefusal? {
            switch self {
            case .segmentFile, .linkIntoArchive, .dotDotIntoArchive, .emlInsideArchive:
                return .insideDataDirectory(path: "", dataDirectory: "")
            case .mboxThroughLink, .existingMbox, .existingEml:
                return overwrite ? nil : .exists(path: "")
            case .emlTempLinks:
                return nil
            }
        }
    }

    @Test(arguments: Target.allCases, [false, true])
    func anExportDamagesNothing(target: Target, overwrite: Bool) async throws {
        try await withTempDirectory { dir in
            let data = dir + "/data"
            let store = try await openStore(data)
            let messages = [Corpus.synthetic(1), Corpus.synthetic(2)]
            var ids: [String] = []
            for (n, message) in messages.enumerated() { ids.append(try await commit(store, message, n).id) }
            try await store.close()
            try writeFile(dir + "/victim", Array("keep".utf8))
            let segment = try #require(segmentPaths(data).first)
            let segmentBytes = readFile(segment)
            let out = try target.prepare(dir: dir, ids: ids, segment: segment)

            let reader = try ArchiveReader(dataDirectory: data)
            let outcome = Result { try reader.export(ArchiveFilter(), format: target.format, to: out, overwrite: overwrite) }

            #expect(readFile(dir + "/victim") == Array("keep".utf8), "written through a link")
            #expect(readFile(segment) == segmentBytes, "the archive was changed")
            #expect(try ArchiveReader(dataDirectory: data).verify().isClean)
            switch (outcome, target.expected(overwrite: overwrite)) {
            case (.success(let count), nil):
                #expect(count == messages.count)
                try Self.checkWritten(target.format, out: out, ids: ids, messages: messages)
            case (.failure(ExportRefusal.insideDataDirectory), .insideDataDirectory?):
                #expect(!FileManager.default.fileExists(atPath: dir + "/data/archive/export"))
            case (.failure(ExportRefusal.exists), .exists?):
                if target == .existingMbox || target == .existingEml {
                    let old = target == .existingMbox ? out : "\(out)/\(ids[0]).eml"
                    #expect(readFile(old) == Array("old".utf8))
                }
            case (let outcome, let expected):
                Issue.record("got \(outcome), expected \(expected.map { "\($0)" } ?? "an export")")
            }
        }
    }

    /// The exported files are regular files of our own (not links), owner and group only,
    /// with the archived messages in them.
    static func checkWritten(_ format: ExportFormat, out: String, ids: [String], messages: [[UInt8]]) throws {
        let files = format == .mbox ? [out] : ids.map { "\(out)/\($0).eml" }
        for file in files {
            var info = stat()
            #expect(lstat(file, &info) == 0 && info.st_mode & S_IFMT == S_IFREG, "\(file) is not a regular file")
            #expect(info.st_mode & 0o027 == 0, "\(file) has mode \(String(info.st_mode & 0o777, radix: 8))")
        }
        if format == .eml {
            #expect(files.map(readFile) == messages)
        } else {
            #expect(readFile(out).starts(with: Array("From ".utf8)))
        }
    }

    /// Without overwrite the file is created exclusively: a link planted after the
    /// export's first look is refused, not written through.
    @Test func theCreateIsExclusive() async throws {
        try await withTempDirectory { dir in
            try writeFile(dir + "/victim", Array("keep".utf8))
            #expect(symlink(dir + "/victim", dir + "/out.mbox") == 0)
            #expect(throws: ExportRefusal.exists(path: dir + "/out.mbox")) {
                try ExportDestination.write(to: dir + "/out.mbox", overwrite: false) { try $0.write(Array("mail".utf8)[...], at: 0) }
            }
            #expect(readFile(dir + "/victim") == Array("keep".utf8))
        }
    }
}
