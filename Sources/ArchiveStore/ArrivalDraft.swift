import Crypto
import Foundation
import JournalReport
import NIOCore

/// A message being received on a listener that unwraps journal reports: the bytes go
/// through a `JournalReportSplitter`; a report's original goes into a `MessageDraft` of
/// its own and the rest into the arrival's `WrapperRecipe`; anything else (plain mail, a
/// report that is not well formed) into a `MessageDraft` of the whole message
/// (docs/ARCHITECTURE.md, "Journal reports"). The digest of the bytes as received is what
/// the chain's trace signs and what a retry is recognised by: for plain mail the draft's
/// own, for a report hashed as the bytes pass.
public struct ArrivalDraft: ByteFeed {
    /// What became of a message that looked like a journal report.
    public enum JournalOutcome: Sendable, Equatable {
        case parsed
        /// Archived as plain mail, for this reason.
        case malformed(String)
    }

    private enum Mode {
        case deciding
        case report
        case plain
    }

    private let store: ArchiveStore
    private let envelope: ArchiveEnvelope
    private var mode: Mode
    private var splitter: JournalReportSplitter?
    private var draft: MessageDraft?
    private var received = SHA256()
    private var size: UInt64 = 0
    private var outcome: JournalOutcome?

    /// `unwrapReports` false: every message is plain mail (`journal_reports = "off"`).
    init(store: ArchiveStore, envelope: ArchiveEnvelope, unwrapReports: Bool) throws {
        self.store = store
        self.envelope = envelope
        if unwrapReports {
            mode = .deciding
            splitter = JournalReportSplitter()
        } else {
            mode = .plain
            draft = try store.makeDraft(envelope: envelope)
        }
    }

    /// What became of a journal report; nil for plain mail (or while undecided).
    public var journalOutcome: JournalOutcome? { outcome }

    /// Bytes received so far.
    public var receivedSize: UInt64 { size }

    /// SHA-256 of the bytes received so far (once whole: of the message as received).
    /// Plain mail is its own original: its draft's digest, not hashed twice.
    public var receivedDigest: [UInt8] {
        if case .plain = mode, let draft { return draft.originalDigest }
        return Array(received.finalize())
    }

    /// Feeds the next bytes of the message as received (`ByteFeed` adds the public forms).
    public mutating func append(raw: UnsafeRawBufferPointer) throws {
        size += UInt64(raw.count)
        switch mode {
        case .plain:
            try draft?.append(bytes: raw)
        case .deciding, .report:
            received.update(bufferPointer: raw)
            guard var splitting = splitter else { return }
            var original = draft
            let progress = try splitting.feed(raw) { piece in
                if original == nil { original = try store.makeDraft(envelope: envelope) }
                try original?.append(bytes: piece)
            }
            splitter = splitting
            draft = original
            try advance(progress)
        }
    }

    private mutating func advance(_ progress: JournalReportSplitter.Progress) throws {
        switch progress {
        case .deciding:
            return
        case .report:
            mode = .report
        case .notAReport(let held):
            try becomePlain(with: held)
        case .failed(let failure):
            try fallBack(failure)
        }
    }

    /// Not a report: everything so far is `held`; from here on, the whole message.
    private mutating func becomePlain(with held: [UInt8]) throws {
        mode = .plain
        splitter = nil
        var whole = try store.makeDraft(envelope: envelope)
        try whole.append(bytes: held)
        draft = whole
    }

    /// A report that is not well formed: the bytes so far are rebuilt from the original's
    /// draft and the recipe, and the message goes on as plain mail. Nothing is lost.
    private mutating func fallBack(_ failure: JournalReportSplitter.Failure) throws {
        outcome = .malformed(failure.reason)
        var soFar: [UInt8] = []
        if let partial = draft {
            draft = nil
            guard let record = try partial.finish().record else {
                throw ArchiveStoreError.temporaryFailure(reason: "cannot read back a journal report's original")
            }
            soFar = try record.original()
        }
        try becomePlain(with: failure.recipe.reconstruct(original: soFar))
    }

    /// Completes the arrival: a report's original with the report's envelope and wrapper,
    /// or the whole message as plain mail.
    /// `journalOutcome` says afterwards what became of a journal report.
    public mutating func finish(forwarding: ForwardingPromise? = nil) throws -> FinishedMessage {
        if mode != .plain, var splitting = splitter {
            var original = draft
            let result = try splitting.finish { piece in
                if original == nil { original = try store.makeDraft(envelope: envelope) }
                try original?.append(bytes: piece)
            }
            draft = original
            splitter = nil
            switch result {
            case .notAReport(let held):
                try becomePlain(with: held)
            case .malformed(let failure):
                try fallBack(failure)
            case .report(let report, let wrapper):
                guard let original = draft else { throw ArchiveStoreError.temporaryFailure(reason: "journal report without its original") }
                outcome = .parsed
                let form = ReceivedForm(size: size, sha256: receivedDigest, report: report, wrapper: wrapper)
                draft = nil
                return try original.finish(forwarding: forwarding, received: form)
            }
        }
        guard let whole = draft else { throw ArchiveStoreError.temporaryFailure(reason: "no record") }
        draft = nil
        return try whole.finish(forwarding: forwarding)
    }
}

extension ArchiveStore {
    /// A draft for the next arrival; `unwrapReports` for a listener that unwraps journal
    /// reports (`journal_reports = "auto"`).
    public func makeArrivalDraft(envelope: ArchiveEnvelope, unwrapReports: Bool) throws -> ArrivalDraft {
        try ArrivalDraft(store: self, envelope: envelope, unwrapReports: unwrapReports)
    }
}
