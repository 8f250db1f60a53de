/// What a token may do on the admin endpoint; each role includes the ones below it.
/// - `read`: the queue listing and the archive reads (search, show, original, export).
/// - `operate`: read, and the queue changes (retry, hold, release, delete).
/// - `admin`: everything, the audit log and what governs the archive (holds, expiry).
public enum AdminRole: String, Sendable, CaseIterable, Comparable, Codable {
    case read
    case operate
    case admin

    private var rank: Int {
        switch self {
        case .read: 0
        case .operate: 1
        case .admin: 2
        }
    }

    public static func < (lhs: AdminRole, rhs: AdminRole) -> Bool { lhs.rank < rhs.rank }
}
