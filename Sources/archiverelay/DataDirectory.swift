import ArchiveStore
import Foundation

/// The node's data directory, created if missing and checked to be writable by this
/// process before the archive and the queue open it: a directory owned by another user
/// is reported as that, not as the first file some component failed to create.
enum DataDirectory {
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    static func prepare(_ path: String) throws {
        do {
            try FilePermissions.createDirectories(path)
        } catch {
            throw Problem(description: "cannot create the data directory \(path): \(String(cString: strerror(error.errno)))")
        }
        guard access(path, W_OK | X_OK) == 0 else {
            let why = String(cString: strerror(errno))
            throw Problem(description: "the data directory \(path) is not writable by this user (uid \(geteuid())): \(why); "
                + "it should belong to the user the node runs as")
        }
    }
}
