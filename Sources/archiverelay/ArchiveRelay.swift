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
    /// Parses and runs the command, as ArgumentParser's own `main` does; an operator
    /// command run by root first takes on the data directory's owner
    /// (`DataDirectory.adoptOwner`).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if let operated = command as? OperatesOnDataDirectory { try DataDirectory.adoptOwner(operated.dataDirectoryPath) }
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

extension ArchiveRelay {
    /// `archiverelay --version`. Raised by hand with each release; 0.x while the formats
    /// may still change (docs/FORMAT.md says how each is versioned on its own).
    static let version = "0.27.0"
}
