import ArchiveStore
import ArgumentParser
import DurableFiles
import ForwardQueue
import Foundation
import Logging
import OperatorText

/// Where `queue` subcommands act: the running node's admin endpoint, or (when nothing
/// answers there and the queue lock is free) the files in the data directory.
struct QueueTarget: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The node's data directory.")
    var dataDirectory: String = "./data"
    @Option(help: "The running node's admin address: HOST:PORT, or https://HOST:PORT when it serves TLS.")
    var admin: String = "127.0.0.1:8025"
    @Option(name: .customLong("admin-ca"), help: "PEM file of the CA (or the self-signed certificate) the admin endpoint's TLS certificate is checked against; implies https.")
    var adminCA: String?

    /// The whole queue: the node's pages (`GET /queue?after=`) joined, or the files.
    func snapshot() async throws -> QueueSnapshot {
        var whole: QueueSnapshot?
        var after: UInt64 = 0
        while true {
            switch try await client().request("GET", "/queue?after=\(after)") {
            case .answered(200, let body):
                let page = try QueueJSON.decoder().decode(QueueSnapshot.self, from: Data(body.utf8))
                if whole == nil { whole = page } else { whole?.entries += page.entries }
                guard let next = page.nextAfter, next > after else {
                    whole?.nextAfter = nil
                    return whole ?? page
                }
                after = next
            case .answered(let status, let body):
                throw refusal(status, body)
            case .unreachable:
                guard whole == nil else { throw QueueCLIError("the node at \(admin) stopped answering while the queue was read") }
                do {
                    return try ForwardQueue.readSnapshot(dataDirectory: dataDirectory)
                } catch ForwardQueueError.locked {
                    throw QueueCLIError("the queue in \(dataDirectory) is locked by a running node, but nothing answers on --admin \(admin)")
                }
            }
        }
    }

    private func client() throws -> AdminClient {
        try AdminClient(address: admin, token: LocalAdminToken.read(dataDirectory: dataDirectory), caFile: adminCA)
    }

    /// A node's refusal as the CLI's error; 401 says where the token was looked for.
    private func refusal(_ status: Int, _ body: String) -> QueueCLIError {
        let reason = Self.field("error", of: body)
        if status == 401 {
            return QueueCLIError("the node at \(admin) refused the request (401: \(reason)): this user cannot read the node's "
                + "token \(LocalAdminToken.path(dataDirectory: dataDirectory)), or --data-dir is not that node's")
        }
        return QueueCLIError("the node at \(admin) answered \(status): \(reason)")
    }

    /// One string field of a JSON answer, or the body itself when it has none.
    static func field(_ name: String, of body: String) -> String {
        let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return object?[name] as? String ?? body.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Sends `POST /queue/<operation>` to the node, or runs `offline` on the locked queue;
    /// prints the answer (`offline`'s is one line).
    func change(_ operation: String, _ selector: QueueSelector, offline: (ForwardQueue) async throws -> String) async throws {
        switch try await client().request("POST", "/queue/\(operation)?\(selector.query)") {
        case .answered(200, let body):
            writeStdout(TerminalText(lines: Self.field("result", of: body) + "\n"))
        case .answered(let status, let body):
            throw refusal(status, body)
        case .unreachable:
            FilePermissions.restrictProcessUmask()
            var logger = Logger(label: "archiverelay.queue")
            logger.logLevel = .error
            let queue: ForwardQueue
            do {
                queue = try await ForwardQueue.open(dataDirectory: dataDirectory, peers: [], archive: nil, nodeID: "", logger: logger)
            } catch ForwardQueueError.locked {
                throw QueueCLIError("the queue in \(dataDirectory) is locked by a running node, but nothing answers on --admin \(admin)")
            }
            do {
                let answer = try await offline(queue)
                await queue.close()
                writeStdout("\(answer)\n")
            } catch {
                await queue.close()
                throw QueueCLIError("\(error)")
            }
        }
    }
}
