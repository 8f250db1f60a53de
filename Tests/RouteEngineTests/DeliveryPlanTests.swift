import RouteEngine
import Testing

struct DeliveryPlanTests {
    static let archiveOnly = RouteAction(archive: true)
    static let toPeer = RouteAction(archive: true, forward: ["peer"])
    static let toRelayAcked = RouteAction(archive: false, forward: ["relay", "peer"], ackAfterForward: .afterOnePeer, ackTimeoutSeconds: 20)
    static let toBackupAcked = RouteAction(archive: false, forward: ["backup"], ackAfterForward: .afterOnePeer, ackTimeoutSeconds: 5)
    static let ackWithoutForward = RouteAction(archive: true, forward: [], ackAfterForward: .afterOnePeer, ackTimeoutSeconds: 99)

    static let cases: [(actions: [RouteAction], archive: Bool, forward: [String], ack: AckPolicy, timeout: Int)] = [
        ([], false, [], .afterArchive, 0),
        ([archiveOnly], true, [], .afterArchive, 0),
        ([archiveOnly, toPeer], true, ["peer"], .afterArchive, 0),
        ([toPeer, toRelayAcked], true, ["peer", "relay"], .afterOnePeer, 20),
        ([toRelayAcked, toPeer], true, ["relay", "peer"], .afterOnePeer, 20),
        ([toRelayAcked], false, ["relay", "peer"], .afterOnePeer, 20),
        ([toBackupAcked, toRelayAcked, toPeer], true, ["backup", "relay", "peer"], .afterOnePeer, 20),
        ([toPeer, toPeer], true, ["peer"], .afterArchive, 0),
        // ack_after_forward on a route that forwards nothing has nothing to wait for.
        ([ackWithoutForward], true, [], .afterArchive, 0),
    ]

    @Test(arguments: cases)
    func planIsTheUnionOverRecipients(actions: [RouteAction], archive: Bool, forward: [String], ack: AckPolicy, timeout: Int) {
        let plan = DeliveryPlan(actions)
        #expect(plan.archive == archive)
        #expect(plan.forward == forward)
        #expect(plan.ackAfterForward == ack)
        #expect(plan.ackTimeoutSeconds == timeout)
        #expect(plan.isEmpty == (!archive && forward.isEmpty))
    }

    @Test func ackPolicyOrderAndSpelling() {
        #expect(AckPolicy.afterArchive < AckPolicy.afterOnePeer)
        #expect(AckPolicy(rawValue: "none") == .afterArchive)
        #expect(AckPolicy(rawValue: "one") == .afterOnePeer)
        #expect(AckPolicy(rawValue: "all") == nil)
    }
}
