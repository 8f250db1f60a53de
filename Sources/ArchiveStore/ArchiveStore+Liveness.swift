extension ArchiveStore {
    /// Returns once the writer thread has run an empty job queued now, that is after the
    /// batch it is writing (fdatasync included): a writer stuck in a hung fdatasync or a
    /// deadlock never returns. For the service manager's watchdog. Throws once closed.
    public func writerRoundTrip() async throws {
        try await committer.perform { _ in }
    }
}
