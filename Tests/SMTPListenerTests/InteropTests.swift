import Foundation
import SMTPListener
import SMTPProtocol
import TestSupport
import Testing

/// Real clients nobody here wrote, against a live listener: swaks, Python's smtplib and
/// Postfix's smtp-source (installed by `make test`). Each checks what the receiver got.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct InteropTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../../shared/corpus/spamassassin").standardized.path
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Interop/smtplib_client.py").path

    func tls(_ configuration: inout ListenerConfiguration) async throws {
        let pki = try await TestPKI.shared()
        configuration.tlsMode = .starttls
        configuration.certificateFile = pki.leaf.certificate
        configuration.privateKeyFile = pki.leaf.key
    }

    // MARK: swaks

    static let swaksModes: [[String]] = [[], ["--tls"], ["--pipeline"]]

    @Test(arguments: swaksModes)
    func swaks(flags: [String]) async throws {
        try await withListener({ try await tls(&$0) }) { server, receiver in
            let body = "From: a@example.com\nSubject: swaks \(flags)\n\n.dot line\nend\n"
            let directory = try makeTempDirectory()
            defer { removeTempDirectory(directory) }
            let file = directory + "/message.txt"
            try writeFile(file, Array(body.utf8))
            let run = try await runTool("swaks", ["--server", "127.0.0.1:\(server.localAddress.port ?? 0)",
                                                  "--from", "a@example.com", "--to", "journal@archive.example",
                                                  "--helo", "swaks.test", "--data", "@\(file)", "--hide-all"] + flags)
            #expect(run.status == 0, "\(run.output)")
            let message = try #require(receiver.received.first)
            // swaks sends its data, then CRLF "." CRLF: the file's last line break plus one more.
            #expect(message.text == body.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n")
            #expect(message.envelope.helo == "swaks.test")
            #expect((message.envelope.tls != nil) == flags.contains("--tls"))
        }
    }

    // MARK: smtplib

    @Test(arguments: ["plain", "starttls", "large", "utf8", "send_message"])
    func smtplib(mode: String) async throws {
        try await withListener({ try await tls(&$0) }) { server, receiver in
            let out = try makeTempDirectory()
            defer { removeTempDirectory(out) }
            let run = try await runTool(python, [Self.script, "\(server.localAddress.port ?? 0)", out, mode, Self.corpus])
            #expect(run.status == 0, "\(run.output)")
            let expected = try FileManager.default.contentsOfDirectory(atPath: out).sorted {
                Int($0.dropLast(4)) ?? 0 < Int($1.dropLast(4)) ?? 0
            }
            #expect(!expected.isEmpty)
            #expect(receiver.received.count == expected.count)
            for (file, message) in zip(expected, receiver.received) {
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent(file)))
                #expect(firstDifference(message.content, bytes) == nil, "\(mode) message \(file)")
            }
            if mode == "plain" { #expect(expected.count >= 100) }
            if mode == "large" { #expect((receiver.received.first?.content.count ?? 0) > 10_000_000) }
            if mode == "starttls" { #expect(receiver.received.allSatisfy { $0.envelope.tls != nil }) }
            if mode == "utf8" {
                #expect(receiver.received.first?.envelope.parameters.smtpUTF8 == true)
                #expect(receiver.received.first?.envelope.sender.description == "χρήστης@παράδειγμα.ελ")
            }
        }
    }

    // MARK: smtp-source

    @Test func smtpSourceTwentySessions() async throws {
        try await withListener { server, receiver in
            let run = try await runTool("smtp-source", ["-s", "20", "-m", "400", "-l", "4096", "-f", "src@example.com",
                                                        "-t", "journal@archive.example", "-c",
                                                        "127.0.0.1:\(server.localAddress.port ?? 0)"])
            #expect(run.status == 0, "\(run.output)")
            let messages = receiver.received
            #expect(messages.count == 400)
            #expect(messages.allSatisfy { $0.envelope.sender.description == "src@example.com" })
            #expect(messages.allSatisfy { $0.content.count >= 4096 && $0.content.suffix(2) == [13, 10] })
            #expect(Set(messages.map(\.envelope.transactionID)).count == 400)
        }
    }
}

var python: String { FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3" }

/// Runs a tool found on PATH (or /usr/sbin) to its end, off the cooperative pool.
func runTool(_ tool: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
    let candidates = [tool, "/usr/bin/\(tool)", "/usr/sbin/\(tool)", "/usr/local/bin/\(tool)"]
    guard let path = candidates.first(where: { $0.hasPrefix("/") && FileManager.default.isExecutableFile(atPath: $0) }) else {
        Issue.record("\(tool) is not installed: run `make test`, which installs it")
        return (127, "")
    }
    return try await withCheckedThrowingContinuation { continuation in
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        process.terminationHandler = { p in
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            continuation.resume(returning: (p.terminationStatus, String(decoding: data, as: UTF8.self)))
        }
        do { try process.run() } catch { continuation.resume(throwing: error) }
    }
}
