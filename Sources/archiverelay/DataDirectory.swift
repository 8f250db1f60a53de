import ArchiveStore
import ArchiveTier
import AuditTrail
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
        // Half a restored archive would be served as the whole one, and uploaded as such.
        if FileManager.default.fileExists(atPath: RemoteRestore.markerPath(dataDirectory: path)) {
            throw Problem(description: "\(path) holds \(RemoteRestore.markerName): an `archive restore` into it did not finish; "
                + "remove the directory and restore again")
        }
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

    /// Run by root, an operator command takes on the user and groups of the data
    /// directory's owner (the node's user) before it opens anything there: files it
    /// creates (the audit log, the holds database, lock files, SQLite's `-wal` and `-shm`)
    /// then belong to the node, which could not write them were they root's. The audit
    /// entries still name the user who ran the command. Nothing changes for other users,
    /// a data directory root owns, or one that does not exist.
    static func adoptOwner(_ path: String) throws {
        var info = stat()
        guard geteuid() == 0, stat(path, &info) == 0, info.st_uid != 0 else { return }
        _ = AuditActor.operatingSystemUser()  // fixed now, as root
        let owner = info.st_uid
        var group = info.st_gid
        var fixed = false
        if let entry = getpwuid(owner), let name = entry.pointee.pw_name {
            group = entry.pointee.pw_gid
            fixed = initgroups(name, group) == 0
        } else {
            fixed = setgroups(0, nil) == 0
        }
        guard fixed, setgid(group) == 0, setuid(owner) == 0, setuid(0) != 0 else {
            throw Problem(description: "cannot take on the owner (uid \(owner)) of the data directory \(path): \(String(cString: strerror(errno)))")
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
