#if canImport(Glibc)
import Glibc
#endif

/// What tells a file changed without reading it: device, inode, size and modification
/// time. Expiry replaces a segment by renaming a new file over it (a new inode); the
/// audit log grows; a segment sealed and untouched keeps all four.
struct FileFingerprint: Equatable, CustomStringConvertible {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedNanoseconds: Int64

    /// nil when the file is not there.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }

    var description: String { "\(device):\(inode):\(size):\(modifiedNanoseconds)" }
}
