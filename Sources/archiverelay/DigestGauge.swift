import ArchiveStore
import Dispatch
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// The previous UTC day's line of `archive digest` as two gauges, so Prometheus can tell
/// when the nodes of a pair disagree (examples/monitoring): `archive_digest_previous_day_arrivals`
/// and `archive_digest_previous_day_fingerprint`, the digest's first 48 bits as a number
/// (exact in a float; 0 for a day without arrivals). Read from the index at start and then
/// hourly, like the CLI, off the writer: a digest reads every arrival row of the index.
struct DigestGauge: Service {
    let dataDirectory: String
    /// The day to read instead of the previous one: `ARCHIVERELAY_DIGEST_DAY`, a test hook
    /// (mail cannot be made a day old any other way).
    let fixedDay: String?
    let logger: Logger
    private let arrivals = Gauge(label: "archive_digest_previous_day_arrivals")
    private let fingerprint = Gauge(label: "archive_digest_previous_day_fingerprint")

    init(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.fixedDay = environment["ARCHIVERELAY_DIGEST_DAY"]
        self.logger = logger
    }

    static let refreshEvery: Duration = .seconds(3600)

    func run() async throws {
        if let fixedDay {
            logger.warning("the digest gauges read a fixed day (a test hook): ARCHIVERELAY_DIGEST_DAY", metadata: ["day": "\(fixedDay)"])
        }
        while true {
            await refresh()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.refreshEvery) }
            } catch {
                return
            }
        }
    }

    private func refresh() async {
        let directory = dataDirectory
        let day = fixedDay ?? Self.previousDay(of: Date())
        do {
            // On a dispatch thread: the read blocks for as long as the index takes, which
            // must not hold one of the few threads of Swift's cooperative pool.
            let line = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<DailyDigest?, any Error>) in
                DispatchQueue.global(qos: .background).async {
                    continuation.resume(with: Result { try ArchiveReader(dataDirectory: directory).digest().first { $0.day == day } })
                }
            }
            arrivals.record(line?.messages ?? 0)
            fingerprint.record(line.map { Self.fingerprint(hex: $0.sha256) } ?? 0)
        } catch {
            logger.warning("the previous day's digest could not be read; its gauges keep their last value", metadata: ["error": "\(error)"])
        }
    }

    /// The UTC day before `date`, as `archive digest` names days.
    static func previousDay(of date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date.addingTimeInterval(-86_400))
    }

    /// The first 12 hex digits (48 bits) as an integer; 0 for anything shorter or not hex.
    static func fingerprint(hex: String) -> Int64 {
        Int64(hex.prefix(12), radix: 16) ?? 0
    }
}
