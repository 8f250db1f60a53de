import Foundation
import TestSupport
import Testing

/// The shared helpers keep their promises: a wait reports the outcome, not the time it
/// took; a temporary directory does not outlive its test; the test PKI's leaf is the CA's
/// and its stranger is not.
@Suite(.timeLimit(.minutes(2)))
struct TestSupportTests {
    @Test func eventuallySeesAConditionComeTrueAndGivesUpAtItsLimit() async throws {
        let start = ContinuousClock.now
        #expect(try await eventually { ContinuousClock.now - start > .milliseconds(50) })
        #expect(try await eventually(within: 1) { false } == false)
        #expect(ContinuousClock.now - start >= .seconds(1))
    }

    @Test func eventuallyStopsWhenItsTaskIsCancelled() async throws {
        let waiting = Task { try await eventually { false } }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }

    @Test func aTemporaryDirectoryIsRemovedAfterItsBodyEvenWhenItThrows() async throws {
        var seen = ""
        await #expect(throws: TestSupportError.self) {
            try await withTempDirectory { path in
                seen = path
                await Task.yield()
                try writeFile(path + "/file", [1, 2, 3])
                #expect(readFile(path + "/file") == [1, 2, 3])
                throw TestSupportError("body failed")
            }
        }
        #expect(!seen.isEmpty && !FileManager.default.fileExists(atPath: seen))
    }

    @Test func theLeafIsSignedByTheAuthorityAndTheStrangerIsNot() async throws {
        let pki = try await TestPKI.shared()
        try await withTempDirectory { scratch in
            func verify(_ certificate: String) async throws -> Int32 {
                try await runProcess("/usr/bin/openssl", ["verify", "-CAfile", pki.authority, certificate], in: scratch).status
            }
            #expect(try await verify(pki.leaf.certificate) == 0)
            #expect(try await verify(pki.stranger.certificate) != 0)
            let names = try await runProcess("/usr/bin/openssl", ["x509", "-noout", "-ext", "subjectAltName", "-in", pki.leaf.certificate], in: scratch)
            #expect(String(decoding: names.stdout, as: UTF8.self).contains("DNS:localhost, IP Address:127.0.0.1"))
        }
    }

    @Test func portsHandedOutAreFreeAndDistinct() throws {
        let ports = try (0..<20).map { _ in try freePort() }
        #expect(Set(ports).count == ports.count)
        #expect(ports.allSatisfy { !TestPorts.canConnect(port: $0) })
    }
}
