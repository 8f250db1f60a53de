import ArgumentParser
import Governance
import OperatorText
import RelayConfiguration

/// `archiverelay check-config FILE`: every problem of a configuration file, each with
/// where it is; exit 0 and a summary when there is none. Problems quote the file's values,
/// so they are escaped for the terminal.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a node configuration file and report every problem in it.",
        discussion: "Exit status 0 when the file can be used (warnings may still be printed), 1 when it cannot."
    )

    @Argument(help: "The TOML configuration file (docs/CONFIG.md).") var file: String

    func run() throws {
        switch ConfigurationCheck.load(path: file) {
        case .success(let validated):
            for warning in validated.warnings { writeStdout("warning: \(warning)\n") }
            if let problem = HoldStore.searchProblem(dataDirectory: validated.node.dataDirectory, searchIndex: validated.archive.searchIndex) {
                writeStdout("error: \(problem)\n\(file): 1 problem\n")
                throw ExitCode.failure
            }
            writeStdout("\(Self.summary(validated, file: file))\n")
            writeStdout("\(validated.retention.summary)\n")
        case .failure(let problems):
            for warning in problems.warnings { writeStdout("warning: \(warning)\n") }
            for error in problems.errors { writeStdout("error: \(error)\n") }
            writeStdout("\(file): \(problems.errors.count) problem\(problems.errors.count == 1 ? "" : "s")\n")
            throw ExitCode.failure
        }
    }

    static func summary(_ validated: ValidatedConfiguration, file: String) -> String {
        let routing = validated.routing
        let trusting = routing.traceTrustingListeners.sorted().joined(separator: ", ")
        let plainOnly = routing.journalReportsOff.sorted().joined(separator: ", ")
        return "\(file): OK: node \(routing.nodeID), \(validated.listeners.count) listener(s)"
            + (trusting.isEmpty ? "" : " (trust_trace: \(trusting))")
            + (plainOnly.isEmpty ? "" : " (journal_reports off: \(plainOnly))")
            + ", \(validated.peers.count) connection(s), "
            + (routing.routes.isEmpty ? "no routes (archive everything, forward nothing)" : "\(routing.routes.count) route(s)")
            + ", max_hops \(routing.maxHops)"
    }
}
