import Foundation

/// The orders of system calls the invariant needs, checked on a trace of a node
/// (`SyscallTrace`): the 250 to a final dot is written only after what it promises is
/// synced. docs/FORMAT.md, "Writing", says which syncs those are.
struct SyncOrder {
    let calls: [TracedCall]
    let dataDirectory: String
    /// `archive list --json` after the run: where each archived message's record is.
    let listed: [String: NodeTestSupport.ListedMessage]

    /// A 250 to a final dot, as the node wrote it to a client.
    struct Reply {
        var id: String
        var call: TracedCall
    }

    static let sends: Set<String> = ["write", "writev", "sendmsg", "sendto"]
    static let stored = Array("250 2.0.0 Ok: stored as ".utf8)

    var replies: [Reply] {
        calls.compactMap { call in
            guard Self.sends.contains(call.name) else { return nil }
            let bytes = Array(call.strings.joined())
            guard let range = bytes.firstRange(of: Self.stored) else { return nil }
            let id = bytes[range.upperBound...].prefix { $0 != UInt8(ascii: "\r") }
            return Reply(id: String(decoding: id, as: UTF8.self), call: call)
        }
    }

    /// Every order the trace breaks, in words.
    func violations() -> [String] {
        var found: [String] = []
        var first: [String: Reply] = [:]
        for reply in replies {
            if let earlier = first[reply.id] {
                found += duplicateQueued(reply, after: earlier)
            } else if let message = listed[reply.id] {
                first[reply.id] = reply
                found += recordSynced(reply, message)
            } else {
                first[reply.id] = reply
                found += spoolSynced(reply)
            }
        }
        return found + namesSynced()
    }

    /// An archived message: its record written, then its segment fdatasynced, then the 250.
    func recordSynced(_ reply: Reply, _ message: NodeTestSupport.ListedMessage) -> [String] {
        let segment = dataDirectory + "/archive/" + String(format: "%08llu.seg", message.segment)
        guard let write = calls.first(where: { $0.name == "pwrite64" && $0.descriptorPath == segment && $0.lastNumber == message.offset
            && $0.succeeded && $0.precedes(reply.call) })
        else { return ["\(reply.id): its record was not written at \(segment) offset \(message.offset) before its 250 (line \(reply.call.entered))"] }
        guard synced(segment, after: write, before: reply.call) else {
            return ["\(reply.id): no sync of \(segment) between its record (line \(write.returned)) and its 250 (line \(reply.call.entered))"]
        }
        return []
    }

    /// A message forwarded, not archived: its spool file written and synced, the spool
    /// folder synced, then its entries written to the journal and synced, then the 250.
    func spoolSynced(_ reply: Reply) -> [String] {
        let spool = dataDirectory + "/queue/spool"
        guard let file = calls.last(where: { $0.name == "openat" && $0.precedes(reply.call)
            && ($0.resultPath ?? "").hasPrefix(spool + "/" + reply.id + "-") })?.resultPath
        else { return ["\(reply.id): neither archived nor spooled before its 250 (line \(reply.call.entered))"] }
        guard let write = calls.first(where: { $0.name == "pwrite64" && $0.descriptorPath == file && $0.precedes(reply.call) }),
              let sync = firstSync(file, after: write, before: reply.call),
              let folder = firstSync(spool, after: sync, before: reply.call)
        else { return ["\(reply.id): \(file) not written, synced and its folder synced before its 250 (line \(reply.call.entered))"] }
        let name = Array((file as NSString).lastPathComponent.utf8)
        return journalSynced(entry: [2] + Self.littleEndian(UInt64(name.count), bytes: 4) + name, after: folder, before: reply)
    }

    /// A message archived before and now forwarded, with the same envelope: a retry of the
    /// arrival recorded then, so no new record holds the promise; its entries (which refer
    /// to the record of that arrival, the original's) are written to the journal and
    /// synced before the 250.
    func duplicateQueued(_ reply: Reply, after earlier: Reply) -> [String] {
        guard let message = listed[reply.id] else { return ["\(reply.id): answered twice and not archived"] }
        let reference = [1] + Self.littleEndian(message.segment, bytes: 8) + Self.littleEndian(UInt64(message.offset), bytes: 8)
        return journalSynced(entry: reference, after: earlier.call, before: reply)
    }

    /// A journal write holding `entry` (an enqueue frame's reference) after `after`, then
    /// an fdatasync of the journal, both before `reply`.
    func journalSynced(entry: [UInt8], after: TracedCall, before reply: Reply) -> [String] {
        let journal = dataDirectory + "/queue/journal"
        guard let write = calls.first(where: { $0.name == "pwrite64" && $0.descriptorPath == journal && after.precedes($0)
            && $0.precedes(reply.call) && $0.strings.contains { $0.firstRange(of: entry) != nil } })
        else { return ["\(reply.id): its queue entries were not written to \(journal) before its 250 (line \(reply.call.entered))"] }
        guard synced(journal, after: write, before: reply.call) else {
            return ["\(reply.id): no sync of \(journal) between its entries (line \(write.returned)) and its 250 (line \(reply.call.entered))"]
        }
        return []
    }

    /// Every new name in the data directory (a folder made, a file created, a rename's
    /// target; not the LOCK files, temp files or SQLite's index, whose names no reply
    /// needs) has its directory fsynced before the next 250: a name the directory's sync
    /// does not cover is lost with the power.
    func namesSynced() -> [String] {
        let replies = self.replies
        var found: [String] = []
        for call in calls where call.succeeded {
            guard let name = Self.newName(call), name == dataDirectory || name.hasPrefix(dataDirectory + "/") else { continue }
            let last = (name as NSString).lastPathComponent
            if last == "LOCK" || last.hasSuffix(".tmp") || last.hasPrefix("index.sqlite") { continue }
            guard let next = replies.first(where: { call.precedes($0.call) }) else { continue }
            let parent = (name as NSString).deletingLastPathComponent
            if firstSync(parent, after: call, before: next.call) == nil {
                found.append("\(name) made (line \(call.returned)), \(parent) not fsynced before the next 250 (line \(next.call.entered))")
            }
        }
        return found
    }

    static func newName(_ call: TracedCall) -> String? {
        switch call.name {
        case "mkdir", "mkdirat": return call.strings.first.map { String(decoding: $0, as: UTF8.self) }
        case "openat" where call.arguments.contains("O_CREAT"): return call.resultPath
        case "rename", "renameat", "renameat2": return call.strings.dropFirst().first.map { String(decoding: $0, as: UTF8.self) }
        default: return nil
        }
    }

    func synced(_ path: String, after: TracedCall, before: TracedCall) -> Bool { firstSync(path, after: after, before: before) != nil }

    /// The first successful fsync or fdatasync of `path` that entered after `after`
    /// returned and returned before `before` entered.
    func firstSync(_ path: String, after: TracedCall, before: TracedCall) -> TracedCall? {
        calls.first { ($0.name == "fsync" || $0.name == "fdatasync") && $0.descriptorPath == path && $0.succeeded
            && after.precedes($0) && $0.precedes(before) }
    }

    static func littleEndian(_ value: UInt64, bytes: Int) -> [UInt8] {
        (0..<bytes).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
