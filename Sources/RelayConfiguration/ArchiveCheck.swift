import ArchiveStore
import Foundation

/// Turns `[archive]` into the archive's `ArchiveStoreOptions`: what the file leaves out
/// keeps the options' own default.
enum ArchiveCheck {
    static func options(_ entry: NodeConfiguration.Archive?, problems: inout ConfigurationProblems) -> ArchiveStoreOptions {
        var options = ArchiveStoreOptions()
        // A node searches unless told not to; the store's own default (off) is for embedders.
        options.searchIndex = entry?.search_index ?? true
        guard let entry else { return options }
        if let level = entry.compression_level {
            if (1...19).contains(level) {
                options.compressionLevel = level
            } else {
                problems.error("archive", "compression_level must be 1 to 19, got \(level)")
            }
        }
        options.maxSegmentBytes = problems.positive(entry.segment_max_bytes, "segment_max_bytes", at: "archive",
                                                    default: options.maxSegmentBytes)
        options.maxSegmentAge = TimeInterval(problems.positive(entry.segment_max_age_seconds, "segment_max_age_seconds",
                                                               at: "archive", default: Int(options.maxSegmentAge)))
        if let free = entry.min_free_bytes {
            if free >= 0 {
                options.minimumFreeBytes = UInt64(free)
            } else {
                problems.error("archive", "min_free_bytes must be 0 or more, got \(free)")
            }
        }
        if let inflight = entry.inflight_max_bytes {
            if inflight >= 0 {
                options.maxInflightBytes = inflight
            } else {
                problems.error("archive", "inflight_max_bytes must be 0 or more, got \(inflight)")
            }
        }
        return options
    }
}
