/// A segment on local disk as eviction sees it: its size, and whether the bucket holds it
/// as it is now (every file of it uploaded and unchanged since).
struct LocalSegment: Equatable {
    var sequence: UInt64
    var size: Int64
    /// The segment object's record when the bucket holds this very file and its seal and
    /// expiry list; nil otherwise.
    var uploaded: UploadRecord?
}

/// Which segments leave the local disk (`[archive.remote] local_max_bytes`): the oldest
/// uploaded ones, until the segments on disk fit the budget. A segment the bucket does not
/// hold as it is is never chosen, whatever the budget: the budget is a target, and a
/// backlog of uploads can exceed it (the choice says by how much, for the log and alert).
enum EvictionPolicy {
    struct Choice: Equatable {
        var evict: [LocalSegment]
        /// Bytes still over the budget once those are gone (0 when it fits).
        var overBudget: Int64
    }

    /// `segments` in sequence order, the active one included (it counts, it is never chosen).
    static func choose(_ segments: [LocalSegment], budget: UInt64) -> Choice {
        var local = segments.reduce(Int64(0)) { $0 + $1.size }
        let limit = Int64(clamping: budget)
        var evict: [LocalSegment] = []
        for segment in segments where local > limit && segment.uploaded != nil {
            evict.append(segment)
            local -= segment.size
        }
        return Choice(evict: evict, overBudget: max(0, local - limit))
    }
}
