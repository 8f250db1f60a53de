import Foundation
import Logging

/// Every session holds a socket, so the listeners' `max_connections` are worth only as much
/// as the process may open files. Like Go's runtime and nginx's `worker_rlimit_nofile`, the
/// node raises its soft `RLIMIT_NOFILE` to the hard limit at start, and says so when even
/// that is below what its listeners allow.
enum OpenFileLimit {
    /// Files a node needs besides its sessions: segments, index, journals, forward
    /// connections, listening and admin sockets.
    static let reserve: UInt64 = 256

    /// Raises the soft limit to the hard limit; returns the limit now in force.
    @discardableResult
    static func raise() -> UInt64? {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(RLIMIT_NOFILE_VALUE, &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }

    /// Raises the limit and logs it; a warning when the listeners may accept more sessions
    /// than the process can open sockets for.
    static func raise(forSessions sessions: Int, logger: Logger) {
        guard let limit = raise() else {
            logger.warning("cannot read the open file limit (RLIMIT_NOFILE)")
            return
        }
        let needed = UInt64(max(sessions, 0)) + reserve
        if limit < needed {
            logger.warning("open file limit is below what the listeners allow; raise it (ulimit -n, LimitNOFILE=)",
                           metadata: ["limit": "\(limit)", "sessions": "\(sessions)", "needed": "\(needed)"])
        } else {
            logger.debug("open file limit", metadata: ["limit": "\(limit)"])
        }
    }

    #if canImport(Glibc)
    private static let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
    #endif
}
