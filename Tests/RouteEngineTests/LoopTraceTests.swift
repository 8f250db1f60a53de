import RouteEngine
import Testing

struct LoopTraceTests {
    static func ids(_ names: String...) -> [NodeID] { names.map { NodeID($0)! } }
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    static let body = "Received: from mx\r\nSubject: hi\r\n\r\nbody\r\n"

    static let formatted: [(LoopTrace, String)] = [
        (LoopTrace(path: ids("node-a")), "X-Archiverelay-Trace: hops=1; path=node-a\r\n"),
        (LoopTrace(path: ids("node-a", "node-b")), "X-Archiverelay-Trace: hops=2; path=node-a,node-b\r\n"),
        (LoopTrace(path: ids("node-a"), relayedHeaderLength: 312), "X-Archiverelay-Trace: hops=1; path=node-a; relayed=312\r\n"),
    ]

    @Test(arguments: formatted)
    func formats(trace: LoopTrace, expected: String) {
        #expect(trace.headerField == expected)
    }

    @Test func longPathsFoldUnder79OctetsAndParseBack() {
        let path = (0..<12).map { NodeID("archive-node-\($0).dc\($0 % 3).example.com")! }
        let field = LoopTrace(path: path, relayedHeaderLength: 4096).headerField
        let lines = field.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count > 1)
        for line in lines { #expect(line.utf8.count <= 78) }
        for line in lines.dropFirst() { #expect(line.hasPrefix(" ")) }
        #expect(LoopTraceParser.scan(Self.bytes(field + Self.body)) == .found(LoopTrace(path: path, relayedHeaderLength: 4096), fieldLength: field.utf8.count))
    }

    static let scans: [(String, LoopTraceScan)] = [
        ("X-Archiverelay-Trace: hops=1; path=node-a\r\n" + body,
         .found(LoopTrace(path: ids("node-a")), fieldLength: 43)),
        ("x-archiverelay-trace:hops=2;path=node-a,node-b\r\n" + body,
         .found(LoopTrace(path: ids("node-a", "node-b")), fieldLength: 48)),
        ("X-Archiverelay-Trace: hops=2;\r\n\tpath=node-a,\r\n node-b ; relayed=20\r\n" + body,
         .found(LoopTrace(path: ids("node-a", "node-b"), relayedHeaderLength: 20), fieldLength: 68)),
        ("X-Archiverelay-Trace: hops=1; path=node-a; future=yes\r\n" + body,
         .found(LoopTrace(path: ids("node-a")), fieldLength: 55)),
        (body, .absent),
        ("X-Archiverelay-Tracer: hops=1; path=a\r\n", .absent),
        (" X-Archiverelay-Trace: hops=1; path=a\r\n", .absent),
        ("Received: from x\r\nX-Archiverelay-Trace: hops=1; path=a\r\n\r\n", .absent),
        ("", .needsMoreBytes),
        ("X-Archive", .needsMoreBytes),
        ("X-Archiverelay-Trace: hops=1; path=node-a", .needsMoreBytes),
        ("X-Archiverelay-Trace: hops=1; path=node-a\r", .needsMoreBytes),
        // The next line might be a continuation.
        ("X-Archiverelay-Trace: hops=1; path=node-a\r\n", .needsMoreBytes),
        ("X-Archiverelay-Trace: hops=2; path=node-a\r\n\r\n", .malformed("hops=2 but the path names 1 nodes")),
        ("X-Archiverelay-Trace: hops=0; path=\r\n\r\n", .malformed("hops must be a number of at least 1")),
        ("X-Archiverelay-Trace: hops=x; path=a\r\n\r\n", .malformed("hops must be a number of at least 1")),
        ("X-Archiverelay-Trace: path=a\r\n\r\n", .malformed("hops must be a number of at least 1")),
        ("X-Archiverelay-Trace: hops=1\r\n\r\n", .malformed("no path")),
        ("X-Archiverelay-Trace: hops=1; hops=1; path=a\r\n\r\n", .malformed("hops given twice")),
        ("X-Archiverelay-Trace: hops=1; path=a b\r\n\r\n", .malformed("bad node id \"a b\" in path")),
        ("X-Archiverelay-Trace: hops=2; path=a,,b\r\n\r\n", .malformed("bad node id \"\" in path")),
        ("X-Archiverelay-Trace: hops=1; path=a; relayed=-1\r\n\r\n", .malformed("relayed must be a byte count")),
        ("X-Archiverelay-Trace: hops=1; path=a; bogus\r\n\r\n", .malformed("parameter \"bogus\" has no =")),
        ("X-Archiverelay-Trace: hops=1; path=a;\r\n\r\n", .found(LoopTrace(path: ids("a")), fieldLength: 39)),
        ("X-Archiverelay-Trace: hops=1; path=a\nSubject: x\r\n", .malformed("bare LF")),
        ("X-Archiverelay-Trace: hops=1; path=a\rSubject: x\r\n", .malformed("bare CR")),
        ("X-Archiverelay-Trace: hops=1; path=\u{0}a\r\n\r\n", .malformed("not UTF-8")),
    ]

    @Test(arguments: scans)
    func scansLeadingBytes(message: String, expected: LoopTraceScan) {
        #expect(LoopTraceParser.scan(Self.bytes(message)) == expected)
    }

    @Test func overlongFieldIsMalformedNotAwaited() {
        let message = "X-Archiverelay-Trace: hops=1; path=a" + String(repeating: "\r\n x", count: 3000)
        #expect(LoopTraceParser.scan(Self.bytes(message)) == .malformed("longer than 8192 bytes"))
    }

    @Test(arguments: [1, 2, 5, 64])
    func formatterAndParserAgreeOnLength(hops: Int) {
        let trace = LoopTrace(path: (1...hops).map { NodeID("n\($0)")! }, relayedHeaderLength: hops * 100)
        let field = trace.headerField
        let scan = LoopTraceParser.scan(Self.bytes(field + Self.body))
        #expect(scan == .found(trace, fieldLength: field.utf8.count))
        #expect(scan.strippedLength(trusted: true) == field.utf8.count + hops * 100)
        #expect(scan.strippedLength(trusted: false) == 0)
    }

    @Test func onlyAFoundTraceIsStripped() {
        #expect(LoopTraceScan.absent.strippedLength(trusted: true) == 0)
        #expect(LoopTraceScan.needsMoreBytes.strippedLength(trusted: true) == 0)
        #expect(LoopTraceScan.malformed("x").strippedLength(trusted: true) == 0)
    }

    static let nodeIDs: [(String, Bool)] = [
        ("node-a", true), ("archive_1.dc2.example.com", true), (String(repeating: "a", count: 64), true),
        ("", false), (String(repeating: "a", count: 65), false), ("a b", false), ("a,b", false),
        ("a;b", false), ("nœud", false), ("a\r\nX-Evil: 1", false),
    ]

    @Test(arguments: nodeIDs)
    func nodeIDCharset(text: String, valid: Bool) {
        #expect((NodeID(text) != nil) == valid)
    }

    @Test func nodeIDsCompareCaseInsensitively() {
        #expect(NodeID("Archive-A") == NodeID("archive-a"))
        #expect(NodeID("Archive-A")?.value == "Archive-A")
        #expect(Set([NodeID("A")!, NodeID("a")!]).count == 1)
    }
}
