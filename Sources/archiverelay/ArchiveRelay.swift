import ArgumentParser

/// The `archiverelay` command: runs a node (`serve`) and the operator tools.
@main
struct ArchiveRelay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archiverelay",
        abstract: "An archiving SMTP relay: accept journal mail, archive it durably, forward it to peers.",
        version: ArchiveRelay.version,
        subcommands: [ServeCommand.self, ArchiveCommand.self, QueueCommand.self, TokenCommand.self, KeyCommand.self, CheckConfigCommand.self]
    )
}

extension ArchiveRelay {
    /// `archiverelay --version`. Raised by hand with each release; 0.x while the formats
    /// may still change (docs/FORMAT.md says how each is versioned on its own).
    static let version = "0.25.0"
}
