import ArchiveStore
import DurableFiles
import Foundation

/// The node's data directory, created if missing and checked to be writable by this
/// process before the archive and the queue open it: a directory owned by another user
/// is reported as that, not as the first file some component failed to create.
enum DataDirectory {
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    static func prepare(_ path: String) throws {
        let missing = missingFolders(path)
        do {
            try FilePermissions.createDirectories(path)
        } catch {
            throw Problem(description: "cannot create the data directory \(path): \(String(cString: strerror(error.errno)))")
        }
        // A folder made here survives a power loss only once its parent is synced; without
        // that, a first start's archive (acknowledged mail included) could vanish with it.
        for folder in missing { try syncDirectory(parent(of: folder)) }
        guard access(path, W_OK | X_OK) == 0 else {
            let why = String(cString: strerror(errno))
            throw Problem(description: "the data directory \(path) is not writable by this user (uid \(geteuid())): \(why); "
                + "it should belong to the user the node runs as")
        }
    }

    /// `path` and those of its parents that do not exist yet, outermost first.
    private static func missingFolders(_ path: String) -> [String] {
        var missing: [String] = []
        var folder = (path as NSString).standardizingPath
        while !folder.isEmpty, folder != "/", !FileManager.default.fileExists(atPath: folder) {
            missing.insert(folder, at: 0)
            folder = (folder as NSString).deletingLastPathComponent
        }
        return missing
    }

    private static func parent(of folder: String) -> String {
        let parent = (folder as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    private static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, fsync(fd) == 0 else {
            let why = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw Problem(description: "cannot sync \(path) after creating the data directory in it: \(why)")
        }
        close(fd)
    }
}
