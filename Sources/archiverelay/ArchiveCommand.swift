import ArgumentParser

/// `archiverelay archive …`: the archive operator tools (list, get, export, verify, stats, reindex).
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Inspect and verify the archive."
    )
}
