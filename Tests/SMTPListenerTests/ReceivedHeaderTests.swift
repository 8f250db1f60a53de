import Foundation
import Testing
@testable import SMTPListener

struct ReceivedHeaderTests {
    /// The HELO is client text inside a comment: brackets and backslashes become `_`, so
    /// it cannot close the comment or begin another field.
    @Test(arguments: [
        ("mx.example", "mx.example"),
        ("evil) by forged.example (x", "evil_ by forged.example _x"),
        ("a\\b", "a_b"),
        ("δοκιμή.example", "δοκιμή.example"),
    ])
    func heloIsMadeSafeForTheComment(helo: String, shown: String) {
        let header = ReceivedHeader.make(helo: helo, clientIP: "192.0.2.1", node: "node-a", protocolName: "ESMTP",
                                         tls: nil, id: "T1", date: Date(timeIntervalSince1970: 1_795_000_000))
        #expect(header == "Received: from \(shown) ([192.0.2.1])\r\n\tby node-a (archiverelay) with ESMTP id T1;\r\n"
            + "\t\(ReceivedHeader.rfc5322Date(Date(timeIntervalSince1970: 1_795_000_000)))\r\n")
        #expect(ReceivedHeader.rfc5322Date(Date(timeIntervalSince1970: 1_795_000_000)) == "Wed, 18 Nov 2026 11:06:40 +0000")
    }

    /// The client's address is an RFC 5321 address literal: IPv6 carries its tag, and an
    /// IPv4 client seen through a dual-stack listener is shown as IPv4.
    @Test(arguments: [
        ("192.0.2.1", "[192.0.2.1]"),
        ("2001:db8::25", "[IPv6:2001:db8::25]"),
        ("::1", "[IPv6:::1]"),
        ("::ffff:192.0.2.1", "[192.0.2.1]"),
        ("::FFFF:198.51.100.7", "[198.51.100.7]"),
        ("::ffff:0:1", "[IPv6:::ffff:0:1]"),
    ])
    func clientAddressIsAnAddressLiteral(ip: String, literal: String) {
        let header = ReceivedHeader.make(helo: "mx.example", clientIP: ip, node: "node-a", protocolName: "ESMTP",
                                         tls: nil, id: "T1", date: Date(timeIntervalSince1970: 1_795_000_000))
        #expect(header.hasPrefix("Received: from mx.example (\(literal))\r\n\tby node-a "))
    }
}
