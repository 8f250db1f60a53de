import Foundation

/// What `verify` found: every problem with its line (1-based) and sequence, and notes on
/// what is not a break of the chain (a head one entry behind after a crash, torn lines a
/// later append moved aside).
public struct AuditVerification: Sendable, Equatable {
    /// Readable entries in the log.
    public var entries = 0
    public var head: AuditChainTail?
    public var problems: [AuditProblem] = []
    public var notes: [String] = []

    public var isSound: Bool { problems.isEmpty }
}

/// One way the log is not what its appends left.
public enum AuditProblem: Sendable, Equatable, CustomStringConvertible {
    /// A line that is not an entry (bad JSON, a field missing or of the wrong type).
    case unreadable(line: Int, reason: String)
    /// The entry's fields do not hash to its hash: it was edited.
    case edited(line: Int, sequence: Int)
    /// The entry hashes right but is not written as the log writes it: edited by hand.
    case notCanonical(line: Int, sequence: Int)
    /// The entry's `prev` is not the hash of the line before: an entry before it was
    /// replaced, or it was inserted.
    case brokenLink(line: Int, sequence: Int)
    /// Sequences `from...through` are absent before this line: entries deleted.
    case missing(line: Int, from: Int, through: Int)
    /// A sequence at or below the one before it: entries reordered or inserted.
    case outOfOrder(line: Int, sequence: Int, after: Int)
    /// Bytes after the last newline: a line cut short (a crash mid-append, or an edit).
    case tornTail(offset: Int, bytes: Int)
    /// The head names an entry past the log's end: entries were cut off the end.
    case truncated(head: AuditChainTail, lastSequence: Int)
    /// The log's entry with the head's sequence has another hash: rewritten.
    case headMismatch(head: AuditChainTail, found: String)
    /// The head is more than one entry behind the log (a crash leaves it one behind at most).
    case headBehind(head: AuditChainTail, lastSequence: Int)
    case headMissing(lastSequence: Int)
    case headUnreadable
    /// The log could not be read at all.
    case unreadableLog(String)

    public var description: String {
        switch self {
        case .unreadable(let line, let reason): "line \(line): not an entry: \(reason)"
        case .edited(let line, let seq): "line \(line), seq \(seq): edited (its fields do not hash to its hash)"
        case .notCanonical(let line, let seq): "line \(line), seq \(seq): edited (not written as the log writes entries)"
        case .brokenLink(let line, let seq): "line \(line), seq \(seq): its prev is not the hash of the entry before (an entry replaced or inserted)"
        case .missing(let line, let from, let through):
            from == through ? "line \(line): seq \(from) is missing (deleted)" : "line \(line): seqs \(from) to \(through) are missing (deleted)"
        case .outOfOrder(let line, let seq, let after): "line \(line), seq \(seq) after seq \(after): reordered or inserted"
        case .tornTail(let offset, let bytes): "offset \(offset): \(bytes) bytes after the last entry are no entry (a torn line)"
        case .truncated(let head, let last): "the head names seq \(head.sequence) but the log ends at seq \(last): entries cut off the end"
        case .headMismatch(let head, let found): "the head names seq \(head.sequence) with hash \(head.hash) but the log's has \(found): rewritten"
        case .headBehind(let head, let last): "the head names seq \(head.sequence) but the log goes on to seq \(last)"
        case .headMissing(let last): "the head file is missing (the log has \(last) entries)"
        case .headUnreadable: "the head file is unreadable"
        case .unreadableLog(let reason): "cannot read the log: \(reason)"
        }
    }
}

extension AuditLog {
    /// Checks every entry's hash, every link, the sequence, the tail against the head.
    public func verify() -> AuditVerification {
        var result = AuditVerification()
        let lines: AuditLogLines
        do {
            lines = try readLines()
        } catch {
            result.problems.append(.unreadableLog("\(error)"))
            return result
        }
        var last: AuditRecord?
        var hashes: [Int: String] = [:]
        for (index, text) in lines.complete.enumerated() {
            let line = index + 1
            let record: AuditRecord
            do {
                record = try AuditRecord(line: text)
            } catch {
                result.problems.append(.unreadable(line: line, reason: error.description))
                continue
            }
            result.entries += 1
            if record.computedHash != record.hash {
                result.problems.append(.edited(line: line, sequence: record.sequence))
            } else if record.line.dropLast() != text {
                result.problems.append(.notCanonical(line: line, sequence: record.sequence))
            }
            let before = last?.tail ?? AuditChainTail(sequence: 0, hash: AuditRecord.genesisHash)
            if record.sequence <= before.sequence {
                // Not taken as the new "before": the entries after it still link to the one before it.
                result.problems.append(.outOfOrder(line: line, sequence: record.sequence, after: before.sequence))
                continue
            }
            if record.sequence > before.sequence + 1 {
                result.problems.append(.missing(line: line, from: before.sequence + 1, through: record.sequence - 1))
            } else if record.previousHash != before.hash {
                result.problems.append(.brokenLink(line: line, sequence: record.sequence))
            }
            hashes[record.sequence] = record.hash
            last = record
        }
        if lines.tornBytes > 0 { result.problems.append(.tornTail(offset: lines.tornOffset, bytes: lines.tornBytes)) }
        checkHead(lastSequence: last?.sequence ?? 0, hashes: hashes, into: &result)
        result.notes += brokenFiles().map { "\($0): a torn line an append moved aside" }
        return result
    }

    private func checkHead(lastSequence: Int, hashes: [Int: String], into result: inout AuditVerification) {
        let head: AuditChainTail?
        do {
            head = try AuditHead.read(headPath)
        } catch {
            result.problems.append(.headUnreadable)
            return
        }
        result.head = head
        guard let head else {
            if lastSequence > 1 { result.problems.append(.headMissing(lastSequence: lastSequence)) }
            if lastSequence == 1 { result.notes.append("no head file yet: a crash right after the first entry") }
            return
        }
        if head.sequence > lastSequence {
            result.problems.append(.truncated(head: head, lastSequence: lastSequence))
        } else if let found = hashes[head.sequence], found != head.hash {
            result.problems.append(.headMismatch(head: head, found: found))
        } else if head.sequence < lastSequence - 1 {
            result.problems.append(.headBehind(head: head, lastSequence: lastSequence))
        } else if head.sequence == lastSequence - 1 {
            result.notes.append("the head is one entry behind: a crash (or a failed head write) after the last append; the next append rewrites it")
        }
    }

    /// `audit.log.<offset>.broken` files in the audit directory, sorted.
    private func brokenFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("audit.log.") && $0.hasSuffix(".broken") }.sorted().map { directory + "/" + $0 }
    }
}
