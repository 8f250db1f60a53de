import ArchiveTier
import Foundation
import Testing
import TestSupport

@Suite struct RemoteKeysTests {
    @Test func everyObjectHasAKeyThatNamesItBack() {
        let keys = RemoteKeys(prefix: "node-a/")
        let objects: [RemoteObject] = [.segment(1), .segment(123_456_789), .seal(7), .expiryList(42), .auditLog, .auditHead, .holds]
        for object in objects {
            let key = keys.key(of: object)
            #expect(key.hasPrefix("node-a/"))
            #expect(keys.object(at: key) == object, "\(key)")
        }
        #expect(keys.segment(3) == "node-a/segments/00000003.seg")
        #expect(keys.object(at: "node-b/segments/00000003.seg") == nil)
        #expect(keys.object(at: "node-a/segments/0003.seg") == nil)
        #expect(keys.object(at: "node-a/segments/00000003.seg.tmp") == nil)
        #expect(keys.object(at: "node-a/other") == nil)
    }
}

@Suite struct RemoteStateTests {
    @Test func aNewVersionOfAKeyKeepsTheOldOneForDeletion() throws {
        let dir = try makeTempDirectory("remote-state")
        #expect(try RemoteState.open(dataDirectory: dir, create: false) == nil)
        let state = try #require(try RemoteState.open(dataDirectory: dir, create: true))
        let first = UploadRecord(object: .segment(1), key: "p/segments/00000001.seg", versionID: "v1", sha256: "AAAA", size: 10,
                                 uploadedAt: Date(timeIntervalSince1970: 1_000), retainUntil: Date(timeIntervalSince1970: 5_000))
        try state.record(first)
        try state.record(UploadRecord(object: .auditLog, key: "p/audit/audit.log", versionID: nil, sha256: "BBBB", size: 3,
                                      uploadedAt: Date(timeIntervalSince1970: 1_000)))
        #expect(try state.superseded().isEmpty)
        var second = first
        second.versionID = "v2"
        second.sha256 = "CCCC"
        try state.record(second)
        #expect(try state.superseded() == [SupersededVersion(key: first.key, versionID: "v1", retainUntil: first.retainUntil)])
        #expect(try state.record(for: first.key) == second)
        try state.setLock(key: first.key, retainUntil: Date(timeIntervalSince1970: 9_000), legalHold: true)
        let locked = try #require(try state.record(for: first.key))
        #expect(locked.legalHold && locked.retainUntil == Date(timeIntervalSince1970: 9_000))
        #expect(try state.all().map(\.object) == [.segment(1), .auditLog])
        try state.forget(SupersededVersion(key: first.key, versionID: "v1", retainUntil: nil))
        #expect(try state.superseded().isEmpty)
        // A version replaced while under legal hold keeps its flag, to be cleared before it is deleted.
        var third = second
        third.versionID = "v3"
        try state.record(third)
        #expect(try state.superseded() == [SupersededVersion(key: first.key, versionID: "v2", retainUntil: Date(timeIntervalSince1970: 9_000),
                                                             legalHold: true)])
        try state.forget(SupersededVersion(key: first.key, versionID: "v2", retainUntil: nil))
        let reader = try #require(try RemoteState.open(dataDirectory: dir, create: false))
        #expect(try reader.all().count == 2)
    }
}
