import Metrics

/// The store's metric objects, created once at open (never per message). Labels are
/// stable: dashboards and alerts depend on them.
public struct ArchiveMetrics: Sendable {
    /// Buckets of `archive_append_duration` (enqueue to durable, per message): 0.1 ms up
    /// to 1 s. A healthy disk keeps nearly every append under a millisecond.
    public static let appendDurationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1),
    ]

    let appendLatency: Metrics.Timer
    let batchSize: Recorder
    let messagesArchived: Counter
    let duplicates: Counter
    let bytesRaw: Counter
    let bytesStored: Counter
    let fsyncErrors: Counter
    /// Failed index lookups and inserts (`IndexHealth`): messages were stored without dedupe
    /// or are missing from `list` until the index catches up or is rebuilt.
    let indexFaults: Counter
    let freeBytes: Gauge
    /// Memory held by the records of messages in flight (`InflightBudget`), its highest
    /// value since start, the bytes spilled to files, and the drafts that spilled.
    let inflightBytes: Gauge
    let inflightPeak: Gauge
    let inflightSpilledBytes: Gauge
    let draftSpills: Counter
    /// Arrivals archived and not yet in the search index (`SearchIndexer`).
    let searchIndexLag: Gauge

    init(factory: (any MetricsFactory)?) {
        let f = factory ?? MetricsSystem.factory
        appendLatency = Metrics.Timer(label: "archive_append_duration", factory: f)
        batchSize = Recorder(label: "archive_group_commit_batch_size", aggregate: true, factory: f)
        messagesArchived = Counter(label: "archive_messages_archived_total", factory: f)
        duplicates = Counter(label: "archive_duplicates_total", factory: f)
        bytesRaw = Counter(label: "archive_bytes_raw_total", factory: f)
        bytesStored = Counter(label: "archive_bytes_stored_total", factory: f)
        fsyncErrors = Counter(label: "archive_fsync_errors_total", factory: f)
        indexFaults = Counter(label: "archive_index_faults_total", factory: f)
        freeBytes = Gauge(label: "archive_free_bytes", factory: f)
        inflightBytes = Gauge(label: "archive_inflight_bytes", factory: f)
        inflightPeak = Gauge(label: "archive_inflight_peak_bytes", factory: f)
        inflightSpilledBytes = Gauge(label: "archive_inflight_spilled_bytes", factory: f)
        draftSpills = Counter(label: "archive_draft_spills_total", factory: f)
        searchIndexLag = Gauge(label: "archive_search_index_lag_messages", factory: f)
    }
}
