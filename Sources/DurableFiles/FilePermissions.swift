import Foundation

/// Who may read a data directory: the node's user, and its group read-only (a backup or
/// monitoring account); nobody else. The archive, its index and the forward queue hold
/// every sender, recipient and subject, so nothing in it is world-readable, whatever the
/// umask the node was started with.
public enum FilePermissions {
    public static let directory: mode_t = 0o750
    public static let file: mode_t = 0o640
    /// The node and the tools that write run with this umask, which also covers what
    /// libraries create with their own default modes.
    public static let umask: mode_t = 0o027

    /// Sets the process umask to `umask` (call once at start, before anything is created).
    public static func restrictProcessUmask() {
        _ = Glibc.umask(umask)
    }

    /// `mkdir -p` with mode `directory` for every directory it creates; directories that
    /// exist keep their mode (the operator's choice). Throws if a component is not a
    /// directory.
    public static func createDirectories(_ path: String) throws(FileIOError) {
        if mkdir(path, directory) == 0 { return }
        let error = errno
        switch error {
        case EEXIST:
            var info = stat()
            guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw FileIOError(operation: "mkdir", path: path, errno: ENOTDIR)
            }
        case ENOENT:
            let parent = (path as NSString).deletingLastPathComponent
            guard !parent.isEmpty, parent != path else { throw FileIOError(operation: "mkdir", path: path, errno: error) }
            try createDirectories(parent)
            guard mkdir(path, directory) == 0 || errno == EEXIST else { throw FileIOError(operation: "mkdir", path: path, errno: errno) }
        default:
            throw FileIOError(operation: "mkdir", path: path, errno: error)
        }
    }
}
