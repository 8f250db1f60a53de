import AdminEndpoint
import AuditTrail
import DurableFiles
import Foundation
import RelayConfiguration

#if canImport(Glibc)
import Glibc
#endif

/// The node's own admin token for the CLI on the same machine: `serve` writes a fresh one
/// at every start to `<data-dir>/admin/local.token` (0600, role admin, name `local`), so
/// whoever can read the data directory can use `archiverelay queue` against the running
/// node, as before tokens. It is never in the token file, and its requests alone may name
/// their operating-system user (`AdminGate.operatorHeader`).
enum LocalAdminToken {
    static func path(dataDirectory: String) -> String { dataDirectory + "/admin/local.token" }

    /// Writes a fresh secret (a new file renamed over the old one) and returns its token.
    static func create(dataDirectory: String) throws -> AdminToken {
        let folder = dataDirectory + "/admin"
        if mkdir(folder, 0o700) != 0 && errno != EEXIST {
            throw DataDirectory.Problem(description: "cannot create \(folder): \(String(cString: strerror(errno)))")
        }
        let secret = AdminToken.newSecret()
        let final = path(dataDirectory: dataDirectory)
        let temporary = final + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DataDirectory.Problem(description: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array((secret + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, final) == 0 else {
            throw DataDirectory.Problem(description: "cannot write \(final): \(String(cString: strerror(errno)))")
        }
        // Synced like every other file the node makes in its data directory (SyncOrderTests
        // holds it to that), though a token lost in a crash is only made anew at the next start.
        try Durable.syncDirectory(folder, faults: nil)
        try Durable.syncParentDirectory(of: folder, faults: nil)
        return AdminToken(name: AdminTokenCheck.localName, role: .admin, sha256: AdminToken.digest(secret))
    }

    /// The running node's local secret, or nil when this user cannot read it.
    static func read(dataDirectory: String) -> String? {
        guard let text = try? String(contentsOfFile: path(dataDirectory: dataDirectory), encoding: .utf8) else { return nil }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return secret.isEmpty ? nil : secret
    }

    /// What the CLI sends as its operator: the OS user's name (`AuditActor`'s, without `user:`).
    static var operatorName: String { String(AuditActor.operatingSystemUser().dropFirst("user:".count)) }
}

extension AdminToken {
    /// The token file's entries as the endpoint takes them (`check-config` checked the roles).
    static func fromFile(_ entries: [AdminTokenEntry]) -> [AdminToken] {
        entries.compactMap { entry in AdminRole(rawValue: entry.role).map { AdminToken(name: entry.name, role: $0, sha256: entry.sha256) } }
    }
}
