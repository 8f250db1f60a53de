import ArgumentParser

/// The `archiverelay` command: runs a node (`serve`) and the operator tools.
@main
struct ArchiveRelay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archiverelay",
        abstract: "An archiving SMTP relay: accept journal mail, archive it durably, forward it to peers.",
        subcommands: [ServeCommand.self, ArchiveCommand.self, CheckConfigCommand.self]
    )
}
