import ArchiveTier
import Foundation
import Logging
import Metrics
import ObjectStorage
import RelayConfiguration
import ServiceLifecycle

/// The node's object-storage tier (docs/OPERATIONS.md, "Object storage"): a pass of the
/// uploader shortly after start and every `upload_every_seconds`, then what follows an
/// upload (Object Lock dates, eviction past the local budget). Nothing here is on the 250
/// path and `/readyz` does not look at it: a failing endpoint is retried with a backoff
/// (1 s doubling to 5 minutes), logged at each failure with how much waits, counted in
/// `archive_remote_upload_failures_total`, and the backlog is in the gauges the uploader sets.
final class RemoteTierService: Service, Sendable {
    private let settings: RemoteTierSettings
    private let dataDirectory: String
    private let logger: Logger
    static let longestBackoff: Duration = .seconds(300)

    init(settings: RemoteTierSettings, dataDirectory: String, logger: Logger) {
        self.settings = settings
        self.dataDirectory = dataDirectory
        var logger = logger
        logger[metadataKey: "bucket"] = "\(settings.bucket.bucket)"
        self.logger = logger
    }

    func run() async throws {
        var delay: Duration = .seconds(1)
        var failures = 0
        var tier: Tier?
        defer { if let tier { Task { try? await tier.uploader.client.shutdown() } } }
        while true {
            let wait = delay
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                return
            }
            do {
                if tier == nil { tier = try Tier(settings: settings, dataDirectory: dataDirectory, logger: logger) }
                guard let uploader = tier?.uploader else { continue }
                let outcome = try await cancelWhenGracefulShutdown { try await uploader.pass() }
                if failures > 0 || outcome.objects > 0 {
                    logger.notice(failures > 0 ? "uploads to the bucket caught up" : "uploaded to the bucket", metadata: [
                        "objects": "\(outcome.objects)", "bytes": "\(outcome.bytes)", "failed_attempts": "\(failures)",
                    ])
                }
                failures = 0
                delay = settings.uploadEvery
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                delay = min(Self.longestBackoff, .seconds(1 << min(failures - 1, 9)))
                let kind = (error as? RemoteUploadFailure)?.kind ?? "other"
                Counter(label: "archive_remote_upload_failures_total", dimensions: [("kind", kind)]).increment()
                logger.error("upload to the bucket failed; mail is still archived locally, uploads retried", metadata: [
                    "error": "\(error)", "kind": "\(kind)", "attempt": "\(failures)", "retry_in": "\(delay)",
                    "endpoint": "\(settings.bucket.endpoint.url)",
                ])
            }
        }
    }

    /// The client and uploader, made on the first pass: credentials that cannot be read
    /// are a failure like any other, retried, not a reason to refuse mail.
    private struct Tier: Sendable {
        let uploader: RemoteUploader

        init(settings: RemoteTierSettings, dataDirectory: String, logger: Logger) throws {
            let client = try S3Client(configuration: settings.bucket)
            do {
                uploader = try RemoteUploader(dataDirectory: dataDirectory, client: client, keys: RemoteKeys(prefix: settings.prefix),
                                              logger: logger)
            } catch {
                Task { try? await client.shutdown() }
                throw error
            }
        }
    }
}
