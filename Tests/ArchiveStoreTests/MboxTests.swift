import Foundation
import Testing
@testable import ArchiveStore

struct MboxTests {
    /// RFC 4155's From_ line time is asctime(3), in UTC: the day of the month padded with
    /// a space, the time with zeros.
    @Test(arguments: [
        (1_793_610_307.0, "Mon Nov  2 09:05:07 2026"),
        (1_795_000_000.9, "Wed Nov 18 11:06:40 2026"),
        (0.0, "Thu Jan  1 00:00:00 1970"),
        (1_798_761_599.0, "Thu Dec 31 23:59:59 2026"),
    ])
    func fromLineTimeIsAsctime(seconds: Double, text: String) {
        #expect(Mbox.asctime(Date(timeIntervalSince1970: seconds)) == text)
    }

    /// mboxrd quoting: one more `>` on every line that is `>`* then `From `, nothing else.
    @Test(arguments: [
        ("From x\r\n", ">From x\r\n"),
        ("a\r\nFrom x\r\n>From y\r\n>>From z\r\n", "a\r\n>From x\r\n>>From y\r\n>>>From z\r\n"),
        (" From x\r\nFromage\r\n>From\r\nx From y\r\n", " From x\r\nFromage\r\n>From\r\nx From y\r\n"),
    ])
    func quoting(original: String, quoted: String) {
        #expect(Mbox.quote(Array(original.utf8)) == Array(quoted.utf8))
    }
}
