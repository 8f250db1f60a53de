import ArgumentParser
import AuditTrail
import Foundation
import OperatorText

/// The audit log a command records into (`<data-dir>/audit/`), its failures named: a
/// command whose entry cannot be recorded exits 75 (EX_TEMPFAIL) and prints nothing of
/// its result, nor does what the entry describes.
struct CommandAudit: AuditRecorder {
    let log: any AuditRecorder
    let path: String

    init(dataDirectory: String) throws {
        path = dataDirectory + "/audit"
        do {
            log = try AuditLog(dataDirectory: URL(fileURLWithPath: dataDirectory))
        } catch {
            throw AuditFailure(path: path, error: error)
        }
    }

    func record(_ entry: AuditEntry) throws {
        do {
            try log.record(entry)
        } catch {
            throw AuditFailure(path: path, error: error)
        }
    }

    /// An entry of this command's user (`AuditActor.operatingSystemUser`).
    func record(_ action: String, _ arguments: [String: String], count: Int?) throws {
        try record(AuditEntry(actor: AuditActor.operatingSystemUser(), action: action, arguments: arguments, resultCount: count))
    }
}

struct AuditFailure: Error, CustomStringConvertible {
    var path: String
    var error: any Error
    /// `AuditLogError` names the log itself.
    var description: String {
        "the audit entry was not recorded, so nothing was done or shown: "
            + (error is AuditLogError ? "\(error)" : "audit log \(path): \(error)")
    }
}

/// `reportingQueryErrors`, and an audit entry that cannot be recorded exits 75.
func reportingAuditedErrors(_ body: () throws -> Void) throws {
    try reportingQueryErrors {
        do {
            try body()
        } catch let failure as AuditFailure {
            writeStderr("archiverelay: \(failure.description)\n")
            throw ExitCode(75)
        }
    }
}
