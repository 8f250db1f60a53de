import AdminEndpoint
import Foundation
import TestSupport
import Testing

/// The admin endpoint over real TCP on 127.0.0.1 (issue 22, findings 1 and 3): what one
/// client can make it hold. Each limit is checked by its outcome (a closed connection, a
/// client whose writes the server stopped taking), never by how much got done in a time.
@Suite struct AdminEndpointLiveTests {
    typealias Client = AdminTestServer.Client

    static func get(_ path: String, host: String = "127.0.0.1") -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\r\n".utf8)
    }

    @Test(arguments: ["/healthz?=", "/healthz?==", "/healthz?&=&", "/healthz?a&=", "/healthz?%=%", "/healthz?%zz"])
    func queriesThatCrashedTheNodeAreAnswered(path: String) async throws {
        let server = try await AdminTestServer()
        let client = try Client(port: server.port)
        client.send(Self.get(path) + Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
        let text = String(decoding: await AdminTestServer.off { client.readToEnd() }, as: UTF8.self)
        #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count == 3, "\(text)")
        await server.endpoint.close()
    }

    /// A client that pipelines requests and never reads the answers: the server answers one
    /// request at a time and stops reading while an answer cannot be written, so the
    /// client's writes stall after the kernel's buffers, far short of everything it tries
    /// to send (before issue 22, 3.4 MB of requests cost +460 MiB RSS).
    @Test(.timeLimit(.minutes(3)))
    func aClientThatDoesNotReadIsNotAnsweredIntoMemory() async throws {
        let answerBytes = 64 * 1024
        let server = try await AdminTestServer(bigBodyBytes: answerBytes)
        let request = Array("GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(AdminTestServer.local)\r\nX-Pad: \(String(repeating: "p", count: 20_000))\r\n\r\n".utf8)
        let attempt = 16 * 1024 * 1024
        var all: [UInt8] = []
        all.reserveCapacity(attempt)
        for _ in 0..<(attempt / request.count) { all += request }
        let client = try Client(port: server.port, sendTimeoutSeconds: 5)
        let payload = all
        let sent = await AdminTestServer.off { client.send(payload) }
        // The server answers the first request however long the machine makes it wait.
        #expect(try await eventually { server.answered >= 1 }, "the connection was closed, not held")
        // Kernel buffers on loopback hold a few MiB each way, whatever the machine's speed.
        #expect(sent < attempt / 2, "the server took \(sent) bytes of requests from a client that reads nothing")
        #expect(server.answered * answerBytes < 24 * 1024 * 1024, "answered \(server.answered) requests of 64 KiB to a client that reads nothing")
        await server.endpoint.close()
    }

    @Test(.timeLimit(.minutes(2)))
    func anIdleConnectionIsClosedAtTheIdleTimeout() async throws {
        var limits = AdminLimits()
        limits.idleTimeout = .seconds(1)
        let server = try await AdminTestServer(limits: limits)
        let idle = try Client(port: server.port)
        #expect(await AdminTestServer.off { idle.closedByServer() })
        let partial = try Client(port: server.port)
        partial.send(Array("GET /healthz HTTP/1.1\r\nHost: 127.0".utf8))
        #expect(await AdminTestServer.off { partial.closedByServer() })
        await server.endpoint.close()
    }

    @Test func aLargeBodyIsRefusedBeforeTheToken() async throws {
        let server = try await AdminTestServer()
        let client = try Client(port: server.port)
        let body = [UInt8](repeating: UInt8(ascii: "b"), count: 100_000)
        client.send(Array("POST /change HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
        let text = String(decoding: await AdminTestServer.off { client.readToEnd() }, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 413"), "\(text.prefix(200))")
        #expect(server.changed == 0)
        await server.endpoint.close()
    }
}

extension AdminEndpointLiveTests {
    /// A client that asks for a long answer and reads none of it does not hold the
    /// endpoint's close (the node's shutdown) for as long as it likes.
    @Test(.timeLimit(.minutes(2)))
    func aClientThatStopsReadingDoesNotHoldTheShutdown() async throws {
        let server = try await AdminTestServer(bigBodyBytes: 32 * 1024 * 1024)
        let client = try Client(port: server.port)
        client.send(Array("GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(AdminTestServer.local)\r\n\r\n".utf8))
        #expect(try await eventually { server.answered == 1 })
        await server.endpoint.close()
    }
}
