/// Test hook for I/O faults; production passes nil. Throwing from a hook makes the store
/// behave exactly as if the corresponding system call had failed.
///
/// The archive (`ArchiveStoreOptions.faultInjector`) and the forward queue
/// (`ForwardQueueOptions.faultInjector`) call the file hooks before every sync and every
/// removal of a directory entry, on whatever thread does it: all a test needs to know
/// which bytes and names a power loss would keep.
public protocol DurableFaultInjector: Sendable {
    /// Called on the archive's writer thread just before the group commit's fdatasync.
    func beforeSync() throws
    /// Called on the archive's writer thread just before the fdatasync of zeros written
    /// ahead while idle (`SegmentWriter.preallocateAhead`).
    func beforeIdleSync() throws
    /// Called before every fsync or fdatasync of a file; `descriptor` is open on it.
    func beforeFileSync(descriptor: Int32, path: String) throws
    /// Called before every fsync of a directory (what makes its entries durable).
    func beforeDirectorySync(path: String) throws
    /// Called before an unlink of `path`, or a rename onto it: the file there goes away.
    func beforeRemoving(path: String)
}

extension DurableFaultInjector {
    public func beforeSync() throws {}
    public func beforeIdleSync() throws {}
    public func beforeFileSync(descriptor: Int32, path: String) throws {}
    public func beforeDirectorySync(path: String) throws {}
    public func beforeRemoving(path: String) {}
}
