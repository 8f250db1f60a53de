import DurableFiles
import Foundation
import TOMLKit

/// One `[[token]]` of the admin token file: who (`name`), what it may do (`role`), and the
/// SHA-256 of the secret (never the secret itself). docs/CONFIG.md, "The admin token file".
public struct AdminTokenEntry: Sendable, Equatable {
    public var name: String
    /// `read`, `operate` or `admin` (`AdminTokenCheck.roles`).
    public var role: String
    public var sha256: [UInt8]

    public init(name: String, role: String, sha256: [UInt8]) {
        self.name = name
        self.role = role
        self.sha256 = sha256
    }
}

/// `[node] admin_tokens_file`: read and checked at load and at every reload, so a node runs
/// only with a token file it can use; `check-config` reports every problem in it.
public enum AdminTokenCheck {
    /// The roles, lowest first (the admin endpoint's `AdminRole`).
    public static let roles = ["read", "operate", "admin"]
    /// The name the node gives its own CLI token (`<data-dir>/admin/local.token`).
    public static let localName = "local"

    private struct File: Decodable {
        struct Token: Decodable {
            var name: String
            var role: String
            var sha256: String
        }
        var token: [Token]?
    }

    static func check(_ node: NodeConfiguration.Node?, environment: ConfigurationCheck.Environment,
                      problems: inout ConfigurationProblems) -> [AdminTokenEntry] {
        guard let path = node?.admin_tokens_file else { return [] }
        let at = "node.admin_tokens_file \(path)"
        if let why = environment.unreadable(path) {
            problems.error("node", "admin_tokens_file \(path): \(why)")
            return []
        }
        if environment.worldReadable(path) {
            problems.warning("node", "admin_tokens_file \(path) can be read by every user of this machine: chmod 600 it")
        }
        guard let text = environment.contents(path) else {
            problems.error("node", "admin_tokens_file \(path): not readable as UTF-8 text")
            return []
        }
        let (tokens, found) = parse(text, at: at)
        problems.merge(found)
        return tokens
    }

    /// The tokens of a token file's text, and every problem with them.
    public static func parse(_ text: String, at: String) -> ([AdminTokenEntry], ConfigurationProblems) {
        var problems = ConfigurationProblems()
        guard let file = ConfigurationFile.decodeNamedFile(File.self, text: text, at: at, shape: "[[token]] needs name, role and sha256, each a string",
                                                           quotingParser: true, problems: &problems)
        else { return ([], problems) }
        var tokens: [AdminTokenEntry] = []
        var seen = Set<String>()
        for (index, token) in (file.token ?? []).enumerated() {
            let place = "\(at): token[\(index + 1)] \(token.name.debugDescription)"
            if token.name.isEmpty || token.name.count > 64 || !token.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
                problems.error(place, "name must be 1 to 64 of A-Z a-z 0-9 . _ -")
            } else if token.name == localName {
                problems.error(place, "the name \(localName) is the node's own CLI token; choose another")
            } else if !seen.insert(token.name).inserted {
                problems.error(place, "name given twice")
            }
            if !roles.contains(token.role) {
                problems.error(place, "role must be one of \(roles.joined(separator: ", ")), got \(token.role.debugDescription)")
            }
            guard token.sha256.utf8.count == 64, let digest = Hex.decode(token.sha256.lowercased()) else {
                problems.error(place, "sha256 must be 64 hex digits (archiverelay token create prints it)")
                continue
            }
            tokens.append(AdminTokenEntry(name: token.name, role: token.role, sha256: digest))
        }
        if tokens.isEmpty && problems.isEmpty {
            problems.warning(at, "no [[token]]: only the node's own CLI token can use the admin API")
        }
        return (tokens, problems)
    }
}
