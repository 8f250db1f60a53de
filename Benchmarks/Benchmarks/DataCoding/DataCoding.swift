import Benchmark
import BenchmarkSupport
import NIOCore
import SMTPProtocol

/// 1 MB of real mail in 64 KiB reads: the listener's reads grow from 16 KiB towards
/// 256 KiB during a large message.
let bodySize = 1 << 20
let readSize = 64 << 10

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        maxDuration: .seconds(3)
    )
    let body = Corpus.body(size: bodySize)
    let bodyChunks = chunks(of: body, size: readSize)
    let wireChunks = chunks(of: Array(stuffed(bodyChunks).readableBytesView), size: readSize)

    // Received side: dot-unstuffing and the end-of-data search, cumulating reads the
    // way the session's input buffer does.
    Benchmark("DATA decode (dot-unstuff), 1 MB body") { benchmark in
        var decoder = DataDecoder(maximumLineLength: 998)
        var input = ByteBuffer()
        for chunk in wireChunks {
            var chunk = chunk
            input.writeBuffer(&chunk)
            while let frame = decoder.decode(&input) { blackHole(frame) }
            input.discardReadBytes()
        }
        precondition(decoder.isFinished && decoder.contentLength == body.count)
    }

    // Forwarding side: the queue's client stuffs the stored message for DATA.
    Benchmark("DATA encode (dot-stuff), 1 MB body") { benchmark in
        blackHole(stuffed(bodyChunks))
    }
}

/// The wire form of `chunks`: dot-stuffed, ending in CRLF "." CRLF.
func stuffed(_ chunks: [ByteBuffer]) -> ByteBuffer {
    var stuffer = DotStuffer()
    var output = ByteBuffer()
    for chunk in chunks { stuffer.encode(chunk, into: &output) }
    stuffer.finish(into: &output)
    return output
}
