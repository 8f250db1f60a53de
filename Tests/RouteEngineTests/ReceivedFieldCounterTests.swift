import RouteEngine
import Testing

struct ReceivedFieldCounterTests {
    static let cases: [(String, Int, Bool)] = [
        ("Received: a\r\nReceived: b\r\n\r\nReceived: in the body\r\n", 2, true),
        ("received: a\r\nRECEIVED: b\r\nReceived : obsolete\r\n\r\n", 3, true),
        ("Received: a\r\n  Received: folded\r\nSubject: Received: x\r\n\r\n", 1, true),
        ("Received-SPF: pass\r\nReceivedX: no\r\nX-Received: no\r\n\r\n", 0, true),
        ("Subject: x\r\n\r\n", 0, true),
        ("\r\nReceived: body only\r\n", 0, true),
        ("Received: a\r\nReceived: b", 2, false),
        ("Received: a\nReceived: bare LF\n\nReceived: body\n", 2, true),
        ("", 0, false),
    ]

    @Test(arguments: cases)
    func countsInTheHeaderSectionOnly(message: String, count: Int, ended: Bool) {
        var counter = ReceivedFieldCounter()
        counter.consume(Array(message.utf8))
        #expect(counter.count == count)
        #expect(counter.headerSectionEnded == ended)
    }

    @Test(arguments: cases)
    func countsTheSameUnderAnyChunking(message: String, count: Int, ended: Bool) {
        let bytes = Array(message.utf8)
        for size in 1...max(1, bytes.count) {
            var counter = ReceivedFieldCounter()
            var start = 0
            while start < bytes.count {
                counter.consume(bytes[start..<min(start + size, bytes.count)])
                start += size
            }
            #expect(counter.count == count, "chunk size \(size)")
            #expect(counter.headerSectionEnded == ended, "chunk size \(size)")
        }
    }

    @Test func fiftyOneReceivedFields() {
        var counter = ReceivedFieldCounter()
        counter.consume(Array((String(repeating: "Received: from relay\r\n", count: 51) + "\r\n").utf8))
        #expect(counter.count == 51)
        #expect(counter.count > LoopGuard.maximumReceivedFields)
    }
}
