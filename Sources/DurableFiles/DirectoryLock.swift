import Foundation

/// An exclusive advisory `flock` on a directory's `LOCK` file, held for a writer's
/// lifetime so two writers (two nodes, or `reindex` while serving) never share a data
/// directory. The archive and the forward queue each take one.
public final class DirectoryLock: @unchecked Sendable {
    private let file: SystemFile

    private init(file: SystemFile) { self.file = file }

    /// Takes the lock, waiting up to `patience` for it; nil when another holder keeps it
    /// that long. A lock released a moment ago can still be held by a child process
    /// between its fork and exec (the descriptor is close-on-exec, but the lock belongs to
    /// the open file description the child shares until then), which a test suite
    /// spawning processes in parallel did hit.
    /// `shared`: a shared lock, which any number of holders take together and an exclusive
    /// holder keeps out.
    public static func take(path: String, patience: Duration = .seconds(2), shared: Bool = false) throws -> DirectoryLock? {
        let file = try SystemFile.open(path, flags: O_RDWR | O_CREAT)
        let deadline = ContinuousClock.now + patience
        while flock(file.descriptor, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                file.close()
                return nil
            }
            usleep(10_000)
        }
        return DirectoryLock(file: file)
    }

    public func release() { file.close() }
}
