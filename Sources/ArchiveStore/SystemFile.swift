import Foundation

/// A file descriptor with the few syscalls durability depends on, each turned into a
/// `FileIOError` naming the call and path. Used by one thread at a time.
final class SystemFile {
    let path: String
    private(set) var descriptor: Int32
    /// Told of every sync of this file (tests; nil in production).
    private let faults: (any ArchiveFaultInjector)?

    private init(path: String, descriptor: Int32, faults: (any ArchiveFaultInjector)?) {
        self.path = path
        self.descriptor = descriptor
        self.faults = faults
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    /// A create never goes through a symlink at `path` (O_NOFOLLOW): a link planted there
    /// must not redirect archive bytes into another file.
    static func open(_ path: String, flags: Int32, mode: mode_t = FilePermissions.file,
                     faults: (any ArchiveFaultInjector)? = nil) throws(FileIOError) -> SystemFile {
        let noFollow = flags & O_CREAT != 0 ? O_NOFOLLOW : 0
        let fd = Glibc.open(path, flags | noFollow | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileIOError(operation: "open", path: path, errno: errno) }
        return SystemFile(path: path, descriptor: fd, faults: faults)
    }

    static func openReadOnly(_ path: String) throws(FileIOError) -> SystemFile {
        try open(path, flags: O_RDONLY)
    }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    func size() throws(FileIOError) -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileIOError(operation: "fstat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    /// Writes all of `bytes` at `offset`, looping over short writes and EINTR.
    func write(_ bytes: ArraySlice<UInt8>, at offset: Int) throws(FileIOError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(FileIOError) in try write(raw, at: offset) } }.get()
    }

    func write(_ raw: UnsafeRawBufferPointer, at offset: Int) throws(FileIOError) {
        try Self.write(raw, to: descriptor, at: offset, path: path)
    }

    /// The same on a descriptor someone else owns.
    static func write(_ raw: UnsafeRawBufferPointer, to descriptor: Int32, at offset: Int, path: String) throws(FileIOError) {
        guard let base = raw.baseAddress else { return }
        var done = 0
        while done < raw.count {
            let n = pwrite(descriptor, base + done, raw.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileIOError(operation: "pwrite", path: path, errno: errno)
            }
            done += n
        }
    }

    /// Fills `buffer` from `offset`; a file that ends before it is an error (`EIO`): the
    /// caller knows how many bytes it wrote there.
    func readExactly(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileIOError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, base + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw FileIOError(operation: "pread", path: path, errno: n < 0 ? errno : EIO) }
            done += n
        }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    func read(at offset: Int, count: Int) throws(FileIOError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var failure: FileIOError?
        var total = 0
        buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while total < count {
                let n = pread(descriptor, base + total, count - total, off_t(offset + total))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = FileIOError(operation: "pread", path: path, errno: errno)
                    return
                }
                if n == 0 { break }
                total += n
            }
        }
        if let failure { throw failure }
        if total < count { buffer.removeSubrange(total...) }
        return buffer
    }

    func dataSync() throws(FileIOError) {
        if let faults { try FileIOError.injected("fdatasync", path) { try faults.beforeFileSync(descriptor: descriptor, path: path) } }
        guard fdatasync(descriptor) == 0 else { throw FileIOError(operation: "fdatasync", path: path, errno: errno) }
    }

    func sync() throws(FileIOError) {
        if let faults { try FileIOError.injected("fsync", path) { try faults.beforeFileSync(descriptor: descriptor, path: path) } }
        guard fsync(descriptor) == 0 else { throw FileIOError(operation: "fsync", path: path, errno: errno) }
    }

    func truncate(to length: Int) throws(FileIOError) {
        guard ftruncate(descriptor, off_t(length)) == 0 else {
            throw FileIOError(operation: "ftruncate", path: path, errno: errno)
        }
    }
}

/// Crash-safe file system steps shared by the writer, recovery and reindex. `faults` is
/// the store's test hook (nil in production), told of each sync and removal.
enum Durable {
    /// fsync a directory so a create, rename or unlink in it survives a crash.
    static func syncDirectory(_ path: String, faults: (any ArchiveFaultInjector)?) throws(FileIOError) {
        if let faults { try FileIOError.injected("fsync", path) { try faults.beforeDirectorySync(path: path) } }
        let dir = try SystemFile.open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { dir.close() }
        try dir.sync()
    }

    /// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String, faults: (any ArchiveFaultInjector)?) throws {
        try writeAtomically(to: path, faults: faults) { file in try file.write(bytes[...], at: 0) }
    }

    /// Fills a new temp file with `body`, then fsync, rename over `path`, fsync directory.
    /// A leftover temp file (an earlier failed attempt, or a planted link) is removed and
    /// the temp created exclusively, so the bytes go into a file of our own; the rename
    /// replaces whatever is at `path` without writing through it.
    static func writeAtomically(to path: String, faults: (any ArchiveFaultInjector)?, _ body: (SystemFile) throws -> Void) throws {
        let temp = path + ".tmp"
        try unlinkIfPresent(temp, faults: faults)
        let file = try SystemFile.open(temp, flags: O_WRONLY | O_CREAT | O_EXCL, faults: faults)
        do {
            try body(file)
            try file.sync()
            file.close()
            try rename(temp, to: path, faults: faults)
        } catch {
            file.close()
            try? unlinkIfPresent(temp, faults: faults)
            throw error
        }
    }

    /// rename(2) then fsync of the destination directory.
    static func rename(_ from: String, to: String, faults: (any ArchiveFaultInjector)?) throws(FileIOError) {
        faults?.beforeRemoving(path: to)
        guard Glibc.rename(from, to) == 0 else { throw FileIOError(operation: "rename", path: from, errno: errno) }
        try syncParentDirectory(of: to, faults: faults)
    }

    /// fsync of the directory holding `path` (the current one for a bare name).
    static func syncParentDirectory(of path: String, faults: (any ArchiveFaultInjector)?) throws(FileIOError) {
        let directory = (path as NSString).deletingLastPathComponent
        try syncDirectory(directory.isEmpty ? "." : directory, faults: faults)
    }

    static func unlinkIfPresent(_ path: String, faults: (any ArchiveFaultInjector)?) throws(FileIOError) {
        faults?.beforeRemoving(path: path)
        if Glibc.unlink(path) != 0 && errno != ENOENT {
            throw FileIOError(operation: "unlink", path: path, errno: errno)
        }
    }
}

extension FileIOError {
    /// Runs a test hook (`ArchiveFaultInjector`); what it throws becomes the error (EIO)
    /// of the call it precedes, as if that call had failed.
    static func injected(_ operation: String, _ path: String, _ hook: () throws -> Void) throws(FileIOError) {
        do { try hook() } catch { throw FileIOError(operation: operation, path: path, errno: EIO) }
    }
}
