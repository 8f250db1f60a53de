/// Errors from the archive store. The SMTP listener maps the first two to replies:
/// `temporaryFailure` → 451 4.3.0, `insufficientStorage` → 452 4.3.1.
public enum ArchiveStoreError: Error, Equatable, Sendable {
    /// The message was not made durable (write or fsync failed, store closing…). Nothing
    /// was acknowledged; the client should retry.
    case temporaryFailure(reason: String)
    /// Free space on the archive volume is below the configured threshold.
    case insufficientStorage(freeBytes: UInt64)
    /// The data directory is locked by another running store.
    case locked(path: String)
    /// No record matches the lookup.
    case notFound(String)
    /// More than one record matches the lookup (a Message-ID two messages share): the
    /// archive ids of all of them, to pick one by.
    case ambiguous(key: String, ids: [String])
    /// The store was closed.
    case closed
    /// Opening found damage it must not repair silently (see the recovery report).
    case unrecoverable(String)
    /// Work that runs one at a time is running already (an expiry).
    case busy(String)
}
