import Foundation

/// One legal hold: a search query whose matches are never expired while it is open.
/// Released holds stay in the store with who released them and when.
public struct LegalHold: Sendable, Equatable {
    /// Unique among open holds; a released hold's name can be used again.
    public var name: String
    public var query: String
    public var reason: String
    public var createdAt: Date
    /// An `AuditActor` form: `user:NAME`, `token:NAME`.
    public var createdBy: String
    public var releasedAt: Date?
    public var releasedBy: String?

    public var isOpen: Bool { releasedAt == nil }

    public init(name: String, query: String, reason: String, createdAt: Date, createdBy: String,
                releasedAt: Date? = nil, releasedBy: String? = nil) {
        self.name = name
        self.query = query
        self.reason = reason
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.releasedAt = releasedAt
        self.releasedBy = releasedBy
    }
}

/// Why a hold command was refused.
public enum HoldError: Error, Equatable, Sendable, CustomStringConvertible {
    case exists(String)
    case noOpenHold(String)
    case badName(String)
    case emptyReason

    public var description: String {
        switch self {
        case .exists(let name): return "an open hold is already named \"\(name)\""
        case .noOpenHold(let name): return "no open hold is named \"\(name)\""
        case .badName(let name): return "\"\(name)\" is not a hold name: 1 to 64 of A-Z a-z 0-9 . _ -"
        case .emptyReason: return "give a --reason: a hold without one cannot be accounted for"
        }
    }

    static func checkName(_ name: String) throws(HoldError) {
        guard (1...64).contains(name.utf8.count),
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else { throw .badName(name) }
    }
}
