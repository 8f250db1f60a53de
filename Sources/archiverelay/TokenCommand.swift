import AdminEndpoint
import ArgumentParser
import DurableFiles
import OperatorText
import RelayConfiguration

/// `archiverelay token create NAME --role ROLE`: a fresh admin API token. The secret is
/// printed once and kept nowhere; the token file gets only its SHA-256 (docs/CONFIG.md,
/// "The admin token file").
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Make bearer tokens for the admin API.",
        subcommands: [Create.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new random token once, and the [[token]] lines to add to the admin token file.",
            discussion: "Add the lines to the file that [node] admin_tokens_file names, then reload the node (SIGHUP). "
                + "Give the token to its user; it cannot be shown again."
        )
        @Argument(help: "The token's name: who uses it (the audit log records token:NAME).") var name: String
        @Option(help: "read, operate or admin.") var role: String

        func validate() throws {
            guard AdminRole(rawValue: role) != nil else { throw ValidationError("--role must be read, operate or admin") }
            let (_, problems) = AdminTokenCheck.parse(Self.lines(name: name, role: role, secret: "x"), at: "name")
            if let problem = problems.errors.first { throw ValidationError(TerminalText.escape(problem)) }
        }

        func run() throws {
            let secret = AdminToken.newSecret()
            writeStdout("token: \(secret)\n\n# add to the admin token file:\n")
            writeStdout(TerminalText(lines: Self.lines(name: name, role: role, secret: secret)))
        }

        static func lines(name: String, role: String, secret: String) -> String {
            "[[token]]\nname = \"\(name)\"\nrole = \"\(role)\"\nsha256 = \"\(Hex.encode(AdminToken.digest(secret)))\"\n"
        }
    }
}
