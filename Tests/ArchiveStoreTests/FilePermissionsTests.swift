import DurableFiles
import Foundation
import TestSupport
import Testing
@testable import ArchiveStore

/// The archive is readable by its owner and group only, and nothing the store creates is
/// written through a link planted where it creates a file.
struct FilePermissionsTests {
    /// Every directory and file under `root` (itself included) with its permission bits.
    static func modes(under root: String) -> [String: mode_t] {
        var result: [String: mode_t] = [:]
        var pending = [root]
        while let path = pending.popLast() {
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            result[path] = info.st_mode & 0o7777
            if info.st_mode & S_IFMT == S_IFDIR {
                pending += ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { path + "/" + $0 }
            }
        }
        return result
    }

    /// The data directory, the archive directory, the segments, the LOCK and the index
    /// with its -wal and -shm: none open to others or writable by the group (the test
    /// process's umask is usually 022, which left the index 0644 and directories 0755).
    @Test func noArchiveFileIsOpenToOthers() async throws {
        try await withTempDirectory { dir in
            let data = dir + "/data"
            let store = try await openStore(data)
            try await commit(store, Corpus.synthetic(1))
            let layout = ArchiveLayout(dataDirectory: data)
            #expect(FileManager.default.fileExists(atPath: layout.indexPath + "-wal"), "the index is in WAL mode while open")
            let open = Self.modes(under: data)
            try await store.close()
            let closed = Self.modes(under: data)
            #expect(open.keys.contains(layout.indexPath) && closed.keys.contains { $0.hasSuffix(".seg") })
            for (path, mode) in open.merging(closed, uniquingKeysWith: { $1 }) {
                #expect(mode & 0o027 == 0, "\(path) has mode \(String(mode, radix: 8))")
            }
        }
    }

    /// `FilePermissions.createDirectories` makes every missing level 0750 (less the umask),
    /// and fails on a component that is a file.
    @Test func createdDirectoriesAreOwnerAndGroupOnly() async throws {
        try await withTempDirectory { dir in
            try FilePermissions.createDirectories(dir + "/a/b/c")
            for path in [dir + "/a", dir + "/a/b", dir + "/a/b/c"] {
                #expect(Self.modes(under: path)[path].map { $0 & 0o027 } == 0, "\(path)")
            }
            try FilePermissions.createDirectories(dir + "/a/b/c")  // exists: fine
            try writeFile(dir + "/file", [1])
            #expect(throws: FileIOError.self) { try FilePermissions.createDirectories(dir + "/file/d") }
        }
    }

    /// A symlink planted at the temp path of an atomic write (segment headers, seals,
    /// copies of torn tails) is removed, not written through: its target keeps its bytes.
    @Test func aLinkAtTheTempPathIsNotFollowed() async throws {
        try await withTempDirectory { dir in
            let victim = dir + "/victim", path = dir + "/000001.seg"
            try writeFile(victim, Array("keep".utf8))
            #expect(symlink(victim, path + ".tmp") == 0)
            try Durable.writeAtomically(Array("header".utf8), to: path, faults: nil)
            #expect(readFile(victim) == Array("keep".utf8))
            #expect(readFile(path) == Array("header".utf8))
            #expect(Self.modes(under: path)[path].map { $0 & 0o027 } == 0)
        }
    }

    /// A create through `SystemFile.open` refuses a symlink at the path itself.
    @Test func aCreateDoesNotFollowALink() async throws {
        try await withTempDirectory { dir in
            let victim = dir + "/victim", path = dir + "/LOCK"
            try writeFile(victim, Array("keep".utf8))
            #expect(symlink(victim, path) == 0)
            #expect(throws: FileIOError.self) { try SystemFile.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC) }
            #expect(readFile(victim) == Array("keep".utf8))
        }
    }
}
