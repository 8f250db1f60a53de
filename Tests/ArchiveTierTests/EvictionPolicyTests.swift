@testable import ArchiveTier
import Foundation
import Testing

@Suite struct EvictionPolicyTests {
    static func segment(_ sequence: UInt64, _ size: Int64, uploaded: Bool) -> LocalSegment {
        LocalSegment(sequence: sequence, size: size,
                     uploaded: uploaded ? UploadRecord(object: .segment(sequence), key: "k\(sequence)", versionID: nil, sha256: "x",
                                                       size: size, uploadedAt: Date()) : nil)
    }

    @Test func theOldestUploadedGoUntilTheRestFits() {
        let segments = [Self.segment(1, 100, uploaded: true), Self.segment(2, 100, uploaded: true),
                        Self.segment(3, 100, uploaded: true), Self.segment(4, 50, uploaded: false)]
        let choice = EvictionPolicy.choose(segments, budget: 160)
        #expect(choice.evict.map(\.sequence) == [1, 2])
        #expect(choice.overBudget == 0)
        #expect(EvictionPolicy.choose(segments, budget: 350).evict.isEmpty)
        #expect(EvictionPolicy.choose(segments, budget: 349).evict.map(\.sequence) == [1])
    }

    @Test func whatTheBucketLacksStaysEvenOverTheBudget() {
        let segments = [Self.segment(1, 100, uploaded: false), Self.segment(2, 100, uploaded: true),
                        Self.segment(3, 100, uploaded: false)]
        let choice = EvictionPolicy.choose(segments, budget: 0)
        #expect(choice.evict.map(\.sequence) == [2])
        #expect(choice.overBudget == 200)
    }
}
