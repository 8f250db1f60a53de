import RouteEngine
import Testing

struct TraceStripperTests {
    static let original = "Received: from mx.example.com\r\nSubject: hi\r\n\r\nbody\r\n.. dots\r\n"
    static let relayed = "Received: from node-a by node-b; Mon, 23 Nov 2026 10:00:00 +0000\r\n"

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var message: String
        var trusted: Bool
        /// What must come out as the original.
        var content: String
        var prepended: String
        var scan: LoopTraceScan?
        var testDescription: String { name }
    }

    static let trace = "X-Archiverelay-Trace: hops=1; path=node-a; relayed=\(relayed.utf8.count)\r\n"
    static let cases: [Case] = [
        Case(name: "untrusted listener keeps everything", message: trace + relayed + original, trusted: false,
             content: trace + relayed + original, prepended: "", scan: nil),
        Case(name: "no trace", message: original, trusted: true, content: original, prepended: "", scan: .absent),
        Case(name: "trace and relayed fields are stripped", message: trace + relayed + original, trusted: true,
             content: original, prepended: trace + relayed,
             scan: .found(LoopTrace(path: [NodeID("node-a")!], relayedHeaderLength: relayed.utf8.count), fieldLength: trace.utf8.count)),
        Case(name: "trace without relayed", message: "X-Archiverelay-Trace: hops=1; path=a\r\n" + original, trusted: true,
             content: original, prepended: "X-Archiverelay-Trace: hops=1; path=a\r\n",
             scan: .found(LoopTrace(path: [NodeID("a")!]), fieldLength: 38)),
        Case(name: "malformed trace stays content", message: "X-Archiverelay-Trace: hops=x\r\n" + original, trusted: true,
             content: "X-Archiverelay-Trace: hops=x\r\n" + original, prepended: "",
             scan: .malformed("hops must be a number of at least 1")),
        Case(name: "relayed past the end", message: "X-Archiverelay-Trace: hops=1; path=a; relayed=999\r\n" + original, trusted: true,
             content: "X-Archiverelay-Trace: hops=1; path=a; relayed=999\r\n" + original, prepended: "",
             scan: .malformed("the message ends inside the relayed header fields")),
        Case(name: "relayed not at a line end", message: "X-Archiverelay-Trace: hops=1; path=a; relayed=5\r\n" + original, trusted: true,
             content: "X-Archiverelay-Trace: hops=1; path=a; relayed=5\r\n" + original, prepended: "",
             scan: .malformed("relayed does not end at a line end")),
        Case(name: "absurd relayed", message: "X-Archiverelay-Trace: hops=1; path=a; relayed=99999999\r\n" + original, trusted: true,
             content: "X-Archiverelay-Trace: hops=1; path=a; relayed=99999999\r\n" + original, prepended: "",
             scan: .malformed("relayed=99999999 is more than 1048576 bytes")),
        Case(name: "message shorter than the field name", message: "X-Arch", trusted: true,
             content: "X-Arch", prepended: "", scan: .needsMoreBytes),
    ]

    @Test(arguments: cases)
    func splitsAtEveryChunkBoundary(_ c: Case) {
        let bytes = Array(c.message.utf8)
        for split in 0...bytes.count {
            for size in [1, 7, bytes.count + 1] where size == 1 ? split == 0 : true {
                var stripper = TraceStripper(trusted: c.trusted)
                var out: [UInt8] = []
                var start = 0
                // First chunk ends at `split`, the rest comes `size` bytes at a time.
                var bounds = [split]
                while bounds.last! < bytes.count { bounds.append(min(bounds.last! + size, bytes.count)) }
                for end in bounds where end >= start {
                    out += stripper.consume(bytes[start..<end])
                    start = end
                }
                out += stripper.finish()
                #expect(String(decoding: out, as: UTF8.self) == c.content, "split \(split) size \(size)")
                #expect(String(decoding: stripper.prepended, as: UTF8.self) == c.prepended, "split \(split) size \(size)")
                #expect(stripper.scan == c.scan, "split \(split) size \(size)")
            }
        }
    }

    @Test func relayedFieldsFollowTheTrace() {
        var stripper = TraceStripper(trusted: true)
        let out = stripper.consume(Array((Self.trace + Self.relayed + Self.original).utf8)) + stripper.finish()
        #expect(String(decoding: out, as: UTF8.self) == Self.original)
        #expect(String(decoding: stripper.relayedFields, as: UTF8.self) == Self.relayed)
        #expect(stripper.isPassingThrough)
    }
}
