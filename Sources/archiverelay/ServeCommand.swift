import ArgumentParser

/// `archiverelay serve`: runs a node.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run a node.")
    func run() async throws {}
}
