import Foundation
import RouteEngine
import Testing

/// The arrival's origin rides among the relayed fields to the peers (ARCHITECTURE.md,
/// "Originals and arrivals"): what one node writes, the next finds, whatever the values.
@Suite struct ArrivalOriginTests {
    static let origin = ArrivalOrigin(id: "01M97FS4JEPQ6NV9", node: "node-a", receivedAt: Date(timeIntervalSince1970: 1_765_096_512.123),
                                      listener: "journal", client: "[2001:db8::1]:2525", helo: "mx; \"odd\" %name",
                                      tls: "TLSv1.3 TLS_AES_128_GCM_SHA256")

    @Test(arguments: ["\r\n", "\n"])
    func foundAmongReceivedFieldsAsWritten(lineEnd: String) throws {
        let field = Self.origin.headerField.replacingOccurrences(of: "\r\n", with: lineEnd)
        let relayed = "Received: from a by b; Mon, 7 Dec 2026 08:00:00 +0000\(lineEnd)" + field
            + "Received: from c\(lineEnd) by d; Mon, 7 Dec 2026 07:59:00 +0000\(lineEnd)"
        #expect(ArrivalOrigin.find(in: Array(relayed.utf8)) == Self.origin)
        for line in Self.origin.headerField.split(separator: "\r\n") { #expect(line.utf8.count <= 78) }
    }

    @Test func withoutTLSOrWithoutAFieldOrItsKeys() {
        var plain = Self.origin
        plain.tls = nil
        #expect(ArrivalOrigin.find(in: Array(plain.headerField.utf8)) == plain)
        #expect(ArrivalOrigin.find(in: Array("Received: from a\r\n".utf8)) == nil)
        #expect(ArrivalOrigin.find(in: Array("X-Archiverelay-Arrival: node=a; received=1\r\n".utf8)) == nil)
        #expect(ArrivalOrigin.find(in: Array("X-Archiverelay-Arrival: id=A; node=a; received=x\r\n".utf8)) == nil)
        #expect(ArrivalOrigin.find(in: Array("X-Archiverelay-Arrival: id=%G0; node=a; received=1\r\n".utf8)) == nil)
    }
}
