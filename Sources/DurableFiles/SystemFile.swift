import Foundation

/// A file descriptor with the few syscalls durability depends on, each turned into a
/// `FileIOError` naming the call and path. Used by one thread at a time.
package final class SystemFile {
    package let path: String
    package private(set) var descriptor: Int32
    /// Told of every sync of this file (tests; nil in production).
    private let faults: (any DurableFaultInjector)?

    private init(path: String, descriptor: Int32, faults: (any DurableFaultInjector)?) {
        self.path = path
        self.descriptor = descriptor
        self.faults = faults
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    /// A create never goes through a symlink at `path` (O_NOFOLLOW): a link planted there
    /// must not redirect archive bytes into another file.
    package static func open(_ path: String, flags: Int32, mode: mode_t = FilePermissions.file,
                     faults: (any DurableFaultInjector)? = nil) throws(FileIOError) -> SystemFile {
        let noFollow = flags & O_CREAT != 0 ? O_NOFOLLOW : 0
        let fd = Glibc.open(path, flags | noFollow | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileIOError(operation: "open", path: path, errno: errno) }
        return SystemFile(path: path, descriptor: fd, faults: faults)
    }

    package static func openReadOnly(_ path: String) throws(FileIOError) -> SystemFile {
        try open(path, flags: O_RDONLY)
    }

    package func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    package func size() throws(FileIOError) -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileIOError(operation: "fstat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    /// Writes all of `bytes` at `offset`, looping over short writes and EINTR.
    package func write(_ bytes: ArraySlice<UInt8>, at offset: Int) throws(FileIOError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(FileIOError) in try write(raw, at: offset) } }.get()
    }

    package func write(_ raw: UnsafeRawBufferPointer, at offset: Int) throws(FileIOError) {
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
    package func readExactly(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileIOError) {
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
    package func read(at offset: Int, count: Int) throws(FileIOError) -> [UInt8] {
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

    package func dataSync() throws(FileIOError) {
        if let faults { try FileIOError.injected("fdatasync", path) { try faults.beforeFileSync(descriptor: descriptor, path: path) } }
        guard fdatasync(descriptor) == 0 else { throw FileIOError(operation: "fdatasync", path: path, errno: errno) }
    }

    package func sync() throws(FileIOError) {
        if let faults { try FileIOError.injected("fsync", path) { try faults.beforeFileSync(descriptor: descriptor, path: path) } }
        guard fsync(descriptor) == 0 else { throw FileIOError(operation: "fsync", path: path, errno: errno) }
    }

    package func truncate(to length: Int) throws(FileIOError) {
        guard ftruncate(descriptor, off_t(length)) == 0 else {
            throw FileIOError(operation: "ftruncate", path: path, errno: errno)
        }
    }
}
