import ArchiveStore
import Foundation
import RelayConfiguration
import Testing

/// `[archive] encryption_keys_file` as check-config and the node see it: every problem of
/// a key file named (never its secrets), a file others may read warned of.
@Suite struct EncryptionKeyCheckTests {
    static let node = "[node]\nid = \"node-a\"\n[[listener]]\nname = \"journal\"\naddress = \"127.0.0.1:2525\"\n"
        + "[archive]\nencryption_keys_file = \"/etc/archiverelay/keys.toml\"\n"
    static let secret = Data([UInt8](repeating: 7, count: 32)).base64EncodedString()
    static let short = Data([UInt8](repeating: 7, count: 16)).base64EncodedString()

    static func environment(_ keys: String, shared: Bool = false) -> ConfigurationCheck.Environment {
        ConfigurationCheck.Environment(hostName: "build-host", unreadable: { $0.hasPrefix("/missing/") ? "does not exist" : nil },
                                       contents: { _ in keys }, sharedReadable: { _ in shared })
    }

    static func key(_ id: Int, _ secret: String = secret) -> String { "[[key]]\nid = \(id)\nsecret = \"\(secret)\"\n" }

    static let at = "archive.encryption_keys_file /etc/archiverelay/keys.toml"
    static let howTo = "archiverelay key create prints a new entry"

    static let cases: [(file: String, errors: [String])] = [
        (key(1) + key(7) + key(3), []),
        (key(1) + key(1), ["\(at): key[2] id 1: id given twice: each key needs its own (segments record it)"]),
        (key(0), ["\(at): key[1] id 0: id must be 1 to 4294967295"]),
        (key(4_294_967_296), ["\(at): key[1] id 4294967296: id must be 1 to 4294967295"]),
        (key(2, short), ["\(at): key[1] id 2: secret must be base64 of 32 bytes; \(howTo)"]),
        (key(2, "not base64!"), ["\(at): key[1] id 2: secret must be base64 of 32 bytes; \(howTo)"]),
        ("", ["\(at): no [[key]]: remove encryption_keys_file to store plaintext, or add a key; \(howTo)"]),
        ("[[key]]\nid = 2\n", ["\(at): key[1].secret: missing, or not of the expected type ([[key]] needs id (an integer) and secret (a string))"]),
        ("[[key]]\nid = 2\nsecret = \"\(short)\n", ["\(at): line 3, column 35: not valid TOML"]),
    ]

    @Test(arguments: cases)
    func aKeyFileIsChecked(file: String, errors: [String]) throws {
        switch ConfigurationCheck.check(text: Self.node, environment: Self.environment(file)) {
        case .success(let validated):
            #expect(errors == [])
            let ring = validated.archive.keys.ring
            #expect(ring.ids == [1, 3, 7])
            #expect(ring.writingKey?.id == 7, "new segments use the highest id")
            #expect(ring.source == "/etc/archiverelay/keys.toml")
        case .failure(let problems):
            #expect(problems.errors == errors)
            #expect(!problems.errors.joined().contains(Self.short) && !problems.errors.joined().contains(Self.secret))
        }
    }

    @Test func aMissingFileIsAnErrorAndOneOthersMayReadAWarning() throws {
        let missing = Self.node.replacingOccurrences(of: "/etc/", with: "/missing/")
        if case .failure(let problems) = ConfigurationCheck.check(text: missing, environment: Self.environment("")) {
            #expect(problems.errors == ["archive: encryption_keys_file /missing/archiverelay/keys.toml: does not exist"])
        } else {
            Issue.record("a missing key file was accepted")
        }
        let shared = try ConfigurationCheck.check(text: Self.node, environment: Self.environment(Self.key(1), shared: true)).get()
        #expect(shared.warnings.contains("archive: encryption_keys_file /etc/archiverelay/keys.toml can be read by users other than its owner: chmod 600 it"))
        let closed = try ConfigurationCheck.check(text: Self.node, environment: Self.environment(Self.key(1))).get()
        #expect(!closed.warnings.contains { $0.contains("encryption_keys_file") })
        // No key file: plaintext, as before.
        let plain = try ConfigurationCheck.check(text: Self.node.replacingOccurrences(of: "encryption_keys_file", with: "# encryption_keys_file"),
                                                 environment: Self.environment("")).get()
        #expect(plain.archive.keys.ring.writingKey == nil)
    }

    /// A file's mode as the system environment reads it: group or others may read → shared.
    @Test func groupReadableCountsAsShared() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString).toml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o600]))
        #expect(!ConfigurationCheck.Environment.isSharedReadable(path))
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        #expect(ConfigurationCheck.Environment.isSharedReadable(path))
    }
}
