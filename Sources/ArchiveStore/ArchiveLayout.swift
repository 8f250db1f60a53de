import Foundation

/// Paths inside a data directory. The archive lives in `<data-dir>/archive/`.
public struct ArchiveLayout: Sendable {
    public let dataDirectory: String

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    public var archiveDirectory: String { dataDirectory + "/archive" }
    public var indexPath: String { archiveDirectory + "/" + Self.indexFileName }
    /// The index's file name, also how faults of the index are named.
    static let indexFileName = "index.sqlite"
    /// The full-text search database (`SearchIndex`): derived, rebuilt when missing.
    public var searchPath: String { archiveDirectory + "/" + Self.searchFileName }
    static let searchFileName = "search.sqlite"
    var lockPath: String { archiveDirectory + "/LOCK" }
    /// Held exclusively while an expiry runs, shared by a search that feeds the search
    /// database: none may index a fresh copy of an original before its old rows are gone.
    var expiryLockPath: String { archiveDirectory + "/EXPIRY.LOCK" }
    /// Spill files of drafts past the memory budget (`InflightBudget`): beside the
    /// archive, not in it, so nothing that lists segments ever meets one.
    public var draftsDirectory: String { dataDirectory + "/drafts" }
}
