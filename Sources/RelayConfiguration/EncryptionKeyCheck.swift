import ArchiveStore
import Foundation

/// `[archive] encryption_keys_file`: the keys segments are encrypted with (docs/CONFIG.md,
/// "The encryption key file"). Read and checked at load and at every reload: new segments
/// use the highest id, every key of the file reads the segments that name it. A secret is
/// never part of a problem's text.
public enum EncryptionKeyCheck {
    static let howToMake = "archiverelay key create prints a new entry"

    private struct File: Decodable {
        struct Key: Decodable {
            var id: Int
            var secret: String
        }
        var key: [Key]?
    }

    static func check(_ archive: NodeConfiguration.Archive?, environment: ConfigurationCheck.Environment,
                      problems: inout ConfigurationProblems) -> SegmentKeyRing {
        guard let path = archive?.encryption_keys_file else { return .none }
        let at = "archive.encryption_keys_file \(path)"
        if let why = environment.unreadable(path) {
            problems.error("archive", "encryption_keys_file \(path): \(why)")
            return .none
        }
        if environment.sharedReadable(path) {
            problems.warning("archive", "encryption_keys_file \(path) can be read by users other than its owner: chmod 600 it")
        }
        guard let text = environment.contents(path) else {
            problems.error("archive", "encryption_keys_file \(path): not readable as UTF-8 text")
            return .none
        }
        let (keys, found) = parse(text, at: at)
        problems.merge(found)
        return SegmentKeyRing(keys: keys, source: path)
    }

    /// The keys of a key file's text, and every problem with them.
    public static func parse(_ text: String, at: String) -> ([SegmentKey], ConfigurationProblems) {
        var problems = ConfigurationProblems()
        guard let file = ConfigurationFile.decodeNamedFile(File.self, text: text, at: at, shape: "[[key]] needs id (an integer) and secret (a string)",
                                                           quotingParser: false, problems: &problems)
        else { return ([], problems) }
        var keys: [SegmentKey] = []
        var seen = Set<Int>()
        for (index, entry) in (file.key ?? []).enumerated() {
            let place = "\(at): key[\(index + 1)] id \(entry.id)"
            guard (1...Int(UInt32.max)).contains(entry.id) else {
                problems.error(place, "id must be 1 to \(UInt32.max)")
                continue
            }
            guard seen.insert(entry.id).inserted else {
                problems.error(place, "id given twice: each key needs its own (segments record it)")
                continue
            }
            guard let secret = Data(base64Encoded: entry.secret), let key = SegmentKey(id: UInt32(entry.id), secret: Array(secret)) else {
                problems.error(place, "secret must be base64 of \(SegmentKey.byteCount) bytes; \(howToMake)")
                continue
            }
            keys.append(key)
        }
        if keys.isEmpty && problems.isEmpty {
            problems.error(at, "no [[key]]: remove encryption_keys_file to store plaintext, or add a key; \(howToMake)")
        }
        return (keys, problems)
    }
}

/// What the `archive` commands need from a node's configuration to read its archive: the
/// data directory, the encryption keys and the bucket evicted segments are read from. Only
/// those are checked: a reading command does not need the listeners' certificates the node needs.
public struct ArchiveAccess: Sendable {
    public var dataDirectory: String
    public var keys: SegmentKeyRing
    /// `[archive.remote]`, if the node has an object-storage tier.
    public var remote: RemoteTierSettings?

    public static func load(configPath path: String, environment: ConfigurationCheck.Environment = .system)
        -> Result<ArchiveAccess, ConfigurationProblems> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            var problems = ConfigurationProblems()
            problems.error(path, "cannot read the file")
            return .failure(problems)
        }
        let (decoded, found) = ConfigurationFile.decode(text)
        var problems = found
        guard let configuration = decoded, problems.errors.isEmpty else { return .failure(problems) }
        let keys = EncryptionKeyCheck.check(configuration.archive, environment: environment, problems: &problems)
        let remote = RemoteTierCheck.settings(configuration.archive?.remote, nodeID: configuration.node?.id ?? environment.hostName,
                                              environment: environment, problems: &problems)
        guard problems.errors.isEmpty else { return .failure(problems) }
        return .success(ArchiveAccess(dataDirectory: NodeSettings(configuration.node).dataDirectory, keys: keys, remote: remote))
    }
}
