import DurableFiles
import Foundation

/// What one expiry run removes, written (`archive/expiry.plan`, JSON) before it changes
/// anything and rewritten as each phase completes, so a run a crash cuts short is carried
/// to its end when the archive next opens (docs/FORMAT.md, "Expiry"). Every phase can be
/// repeated: it skips what it finds done.
struct ExpiryPlan: Codable, Equatable {
    enum Phase: String, Codable, Comparable {
        /// Decided; nothing changed yet.
        case planned
        /// The originals and their arrivals are out of the search database.
        case searchRemoved = "search-removed"
        /// Their records are out of the segments (expiry lists installed).
        case compacted
        /// Their rows are out of the index; what is left is the audit entry.
        case indexRemoved = "index-removed"

        static func < (a: Phase, b: Phase) -> Bool { a.order < b.order }
        private var order: Int { [Phase.planned, .searchRemoved, .compacted, .indexRemoved].firstIndex(of: self) ?? 0 }
    }

    struct Original: Codable, Equatable {
        var sha256: String
        var id: String
        var rule: String
        var expiredAt: Date
    }

    struct Record: Codable, Equatable {
        var segment: UInt64
        var offset: Int
        /// `RecordKind` raw value: 1 message, 3 arrival.
        var kind: UInt16
        /// Archive id (message record) or arrival id.
        var id: String
        /// The original's SHA-256, hex.
        var original: String

        var position: ArchivePosition { ArchivePosition(segment: segment, offset: offset) }
    }

    var run: String
    /// Who asked for it (`AuditEntry.actor`).
    var actor: String
    var startedAt: Date
    var phase: Phase
    /// The durable end when the run began: records from here on may be fresh copies of
    /// originals it removes (a new arrival meanwhile), whose index rows it restores.
    var freshFromSegment: UInt64
    var freshFromOffset: Int
    var originals: [Original]
    var records: [Record]
    /// Segment sequence (decimal) → SHA-256 hex of its expiry list as this run left it.
    var lists: [String: String] = [:]

    /// `lists` as the `archive.expire` audit entry carries them, `SEQ:SHA256,…` in segment
    /// order; verify reads them back with `parseLists`.
    var listsArgument: String {
        lists.sorted { (UInt64($0.key) ?? 0) < (UInt64($1.key) ?? 0) }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    }

    static func parseLists(_ argument: String) -> [UInt64: String] {
        var lists: [UInt64: String] = [:]
        for pair in argument.split(separator: ",") {
            let parts = pair.split(separator: ":")
            if parts.count == 2, let sequence = UInt64(parts[0]) { lists[sequence] = String(parts[1]) }
        }
        return lists
    }

    var freshFrom: IndexCheckpoint { IndexCheckpoint(segment: freshFromSegment, offset: freshFromOffset) }

    static func path(_ layout: ArchiveLayout) -> String { layout.archiveDirectory + "/expiry.plan" }

    static func load(_ layout: ArchiveLayout) throws -> ExpiryPlan? {
        let bytes = try Durable.readAllIfPresent(path(layout))
        guard !bytes.isEmpty else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try decoder.decode(ExpiryPlan.self, from: Data(bytes))
    }

    func save(_ layout: ArchiveLayout, faults: (any DurableFaultInjector)?) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        try Durable.writeAtomically(Array(try encoder.encode(self)), to: Self.path(layout), faults: faults)
    }

    static func remove(_ layout: ArchiveLayout, faults: (any DurableFaultInjector)?) throws {
        try Durable.unlinkIfPresent(path(layout), faults: faults)
        try Durable.syncDirectory(layout.archiveDirectory, faults: faults)
    }
}
