import Foundation
import TestSupport
import Testing
@testable import ArchiveStore

/// `archive get KEY`: a key names one message or none, never a guess among several.
struct ReaderLookupTests {
    /// Two messages with one Message-ID: a lookup by it names both instead of picking one.
    @Test func aSharedMessageIDIsAmbiguous() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            let first = try await commit(store, Array("Message-ID: <dup@example.test>\r\nSubject: one\r\n\r\nfirst\r\n".utf8), 1)
            let second = try await commit(store, Array("Message-ID: <dup@example.test>\r\nSubject: two\r\n\r\nsecond\r\n".utf8), 2)
            let unique = try await commit(store, Array("Message-ID: <once@example.test>\r\n\r\nonly\r\n".utf8), 3)
            try await store.close()
            let reader = try ArchiveReader(dataDirectory: dir)
            for key in ["<dup@example.test>", "dup@example.test"] {
                #expect(throws: ArchiveStoreError.ambiguous(key: key, ids: [first.id, second.id])) { try reader.lookup(key) }
            }
            #expect(try reader.lookup("<once@example.test>").id == unique.id)
            #expect(try reader.lookup(second.id).id == second.id)
        }
    }
}
