import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One thing someone did to or with the archive: a read (`archive.get`, `archive.show`,
/// `archive.export`, `archive.search`), a hold change, an expiry, a queue change, a
/// configuration reload. Written to the audit log before its result is handed out.
public struct AuditEntry: Sendable, Equatable {
    /// When it happened (the log keeps milliseconds).
    public var time: Date
    /// Who: `user:NAME` for a command-line tool (the OS user it runs as), `token:NAME` for
    /// the admin API (the token's name), `node` for what the node does by itself.
    public var actor: String
    /// What, dotted: `archive.get`, `hold.create`, `archive.expire`, `queue.delete`, `config.reload`.
    public var action: String
    /// With what: the query, the id, the hold's name, the output path.
    public var arguments: [String: String]
    /// How many messages (or queue entries) it returned or changed; nil where that means nothing.
    public var resultCount: Int?

    public init(time: Date = Date(), actor: String, action: String, arguments: [String: String] = [:], resultCount: Int? = nil) {
        self.time = time
        self.actor = actor
        self.action = action
        self.arguments = arguments
        self.resultCount = resultCount
    }
}

/// Where audit entries go. `record` returns only once the entry is durable; when it throws,
/// the caller must not hand out (or must not do) what the entry describes.
public protocol AuditRecorder: Sendable {
    func record(_ entry: AuditEntry) throws
}

public enum AuditActor {
    /// `user:NAME` for the effective user this process was started as (`user:UID` when
    /// the password database does not name it). Fixed at the first call: a CLI started by
    /// root takes on the data directory's owner, and asks this before it does, so the
    /// entries still name root.
    public static func operatingSystemUser() -> String { startingUser }

    private static let startingUser: String = {
        let uid = geteuid()
        if let entry = getpwuid(uid), let name = entry.pointee.pw_name { return "user:" + String(cString: name) }
        return "user:\(uid)"
    }()

    public static func token(_ name: String) -> String { "token:" + name }

    public static let node = "node"
}
