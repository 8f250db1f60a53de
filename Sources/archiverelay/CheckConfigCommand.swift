import ArgumentParser

/// `archiverelay check-config FILE`: every problem of a configuration, each with where it
/// is; exit status 0 only for a file `serve` would run with.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a node configuration file and report every problem with its location."
    )

    @Argument(help: "The TOML configuration file.") var file: String

    func run() throws {
        let configuration: NodeConfiguration
        do {
            configuration = try NodeConfiguration.load(path: file)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let problems = configuration.allProblems()
        guard problems.isEmpty else {
            for problem in problems { print("\(file): \(problem)") }
            throw ExitCode(1)
        }
        print("\(file): OK: \((configuration.listener ?? []).count) listeners, \((configuration.route ?? []).count) routes"
              + ((configuration.route ?? []).isEmpty ? " (archive everything)" : ""))
    }
}
