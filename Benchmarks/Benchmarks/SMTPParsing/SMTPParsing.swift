import Benchmark
import NIOCore
import SMTPProtocol

/// The command lines of one transaction as a modern client sends them (ESMTP parameters
/// on MAIL, three recipients). Each benchmark iteration handles all of them.
let transaction = [
    "EHLO mail-yw1-f171.example.net",
    "MAIL FROM:<newsletter-bounces+abc123=example.org@lists.example.net> SIZE=10412 BODY=8BITMIME",
    "RCPT TO:<archive@example.test>",
    "RCPT TO:<Jane.Doe@example.test>",
    "RCPT TO:<sales-team@example.test>",
    "DATA",
    "QUIT",
]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(3)
    )
    let wire = Array(transaction.map { $0 + "\r\n" }.joined().utf8)
    let lines = transaction.map { Array($0.utf8) }

    // What the session does per read: frame the lines, then parse each.
    Benchmark("SMTP commands: frame + parse, 7-line transaction") { benchmark in
        for _ in benchmark.scaledIterations {
            var decoder = CommandLineDecoder(maximumLineLength: 512)
            var input = ByteBuffer(bytes: wire)
            while case .line(let line, _)? = decoder.decode(&input) {
                blackHole(SMTPCommandParser.parse(line.readableBytesView))
            }
        }
    }

    // The parser alone, to tell its share from the framing's.
    Benchmark("SMTP commands: parse only, 7-line transaction") { benchmark in
        for _ in benchmark.scaledIterations {
            for line in lines { blackHole(SMTPCommandParser.parse(line)) }
        }
    }
}
