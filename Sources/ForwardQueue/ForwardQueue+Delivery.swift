import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SMTPProtocol
import SessionTransport

extension ForwardQueue {
    /// Delivers until cancelled: per configured connection, `max_connections` workers that
    /// take due entries in FIFO order, reuse sessions, and back off a peer that fails.
    /// After `configure` the workers of changed or removed connections stop and new ones
    /// start with the new settings.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.refreshMetrics() }
            group.addTask { await self.superviseWorkers() }
            await group.waitForAll()
        }
    }

    private func superviseWorkers() async {
        var running: [String: (settings: PeerSettings, task: Task<Void, Never>)] = [:]
        var seen = -1
        var seenEpoch = 0
        while !Task.isCancelled {
            let (generation, epoch, peers) = book.withLock { book in
                (book.generation, book.certificateEpoch, book.configured.compactMap { book.peers[$0]?.settings })
            }
            if generation != seen {
                seen = generation
                let rereadFiles = epoch != seenEpoch
                seenEpoch = epoch
                let wanted = Dictionary(uniqueKeysWithValues: peers.map { ($0.name, $0) })
                for (name, worker) in running
                where wanted[name] != worker.settings || (rereadFiles && rereadsTLSFiles(worker.settings)) {
                    worker.task.cancel()
                    running[name] = nil
                }
                for settings in peers where running[settings.name] == nil {
                    running[settings.name] = (settings, Task { await self.runPeer(settings) })
                }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        for worker in running.values { worker.task.cancel() }
        for worker in running.values { await worker.task.value }
    }

    /// Whether a certificate reload restarts this connection's workers: only when it reads
    /// TLS files, and only when they load now (else it keeps the context it has).
    private func rereadsTLSFiles(_ settings: PeerSettings) -> Bool {
        guard settings.tls != .none, settings.caFile != nil || settings.clientCertificateFile != nil else { return false }
        do {
            _ = try Self.makeTLSContext(settings)
            logger.notice("forward: TLS files read again", metadata: ["connection": "\(settings.name)"])
            return true
        } catch {
            logger.error("forward: TLS files not reloaded; the connection keeps the ones it has",
                         metadata: ["connection": "\(settings.name)", "error": "\(error)"])
            return false
        }
    }

    /// The workers of one connection, until cancelled. A TLS set-up that fails (a bad
    /// certificate file) is logged and tried again at the connection's maximum backoff.
    private func runPeer(_ settings: PeerSettings) async {
        var tls: NIOSSLContext?
        while settings.tls != .none && tls == nil {
            do {
                tls = try Self.makeTLSContext(settings)
            } catch {
                logger.error("forward: cannot set up TLS for the connection; not delivering",
                             metadata: ["connection": "\(settings.name)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(settings.maxBackoff))
                if Task.isCancelled { return }
            }
        }
        let context = tls
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<settings.maxConnections {
                group.addTask { await self.worker(settings, tls: context) }
            }
            await group.waitForAll()
        }
    }

    private func refreshMetrics() async {
        while !Task.isCancelled {
            let now = Date()
            book.withLock { book in
                for (name, queue) in book.peers { book.metrics[name]?.update(queue, now: now) }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Waits for the next due entry of `connection`; nil when cancelled or idle past `idle`.
    private func nextEntry(_ connection: String, connected: Bool, idle: TimeInterval?) async -> QueueEntry? {
        let giveUp = idle.map { Date().addingTimeInterval($0) }
        while !Task.isCancelled {
            let now = Date()
            let observer = options.dispatchObserver
            let claim = book.withLock { book in
                let claim = book.peers[connection]?.claim(now: now, connected: connected) ?? .wait(until: nil)
                if case .deliver(let entry) = claim { observer?(connection, entry) }
                return claim
            }
            switch claim {
            case .deliver(let entry):
                return entry
            case .wait(let until):
                if let giveUp, now >= giveUp { return nil }
                var pause = options.pollInterval
                if let until { pause = min(max(until.timeIntervalSince(now), 0.001), pause) }
                try? await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
            }
        }
        return nil
    }

    /// One of a connection's workers. It runs on one event loop, and its sessions' channels
    /// live there too, so a reply resumes the worker on the thread that read it.
    private func worker(_ settings: PeerSettings, tls: NIOSSLContext?) async {
        let executor = EventLoopTaskExecutor(MultiThreadedEventLoopGroup.singleton.next())
        await withTaskExecutorPreference(executor) {
            while !Task.isCancelled {
                guard let first = await nextEntry(settings.name, connected: false, idle: nil) else { return }
                await session(settings, tls: tls, first: first, on: executor.eventLoop)
            }
        }
    }

    /// One connection: set up, deliver `first` and whatever is due next, QUIT when idle.
    private func session(_ settings: PeerSettings, tls: NIOSSLContext?, first: QueueEntry, on eventLoop: any EventLoop) async {
        var pending: QueueEntry? = first
        var connected = false
        do {
            let (channel, inbox) = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(.milliseconds(Int64(settings.connectTimeout * 1000)))
                .connect(host: settings.host, port: settings.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let inbox = ReplyInbox(eventLoop: channel.eventLoop)
                        try channel.pipeline.syncOperations.addHandler(inbox)
                        return (channel, inbox)
                    }
                }
            defer { channel.close(promise: nil) }
            connected = true
            let policy = DeliveryMachine.Policy(tls: settings.tls, heloName: settings.heloName ?? nodeID, nodeID: nodeID)
            let session = PeerSession(machine: DeliveryMachine(policy: policy), channel: channel, inbox: inbox,
                                      settings: settings, tlsContext: tls)
            try await session.open()
            peerUp(settings.name)
            while let entry = pending {
                try await deliver(entry, over: session, settings: settings)
                pending = nil
                pending = await nextEntry(settings.name, connected: true, idle: settings.idleTimeout)
            }
            await session.quit()
        } catch {
            let reason = (error as? SessionFailure)?.reason
                ?? (connected ? "session failed: \(error)" : "cannot connect to \(settings.host):\(settings.port): \(error)")
            sessionFailed(settings.name, entry: pending, reason: reason)
        }
    }

    /// Loads and sends one entry, then records the outcome. Throws when the session broke.
    private func deliver(_ entry: QueueEntry, over session: PeerSession, settings: PeerSettings) async throws {
        let original: [UInt8]
        do {
            if let message = recent.message(for: entry.id), let bytes = try? message.original() {
                original = bytes
            } else {
                original = try await loadOriginal(entry.item.reference)
            }
        } catch {
            settle(entry, settings.name, outcome: .rejected("cannot read the message (\(entry.item.reference)): \(error)"), unreadable: true)
            return
        }
        var content = ByteBuffer()
        if session.sendsChunks {
            // BDAT: the bytes as they are, no dot-stuffing on either side.
            content.reserveCapacity(entry.item.prefix.count + original.count)
            content.writeBytes(entry.item.prefix)
            content.writeBytes(original)
        } else {
            var stuffer = DotStuffer()
            content.reserveCapacity(entry.item.prefix.count + original.count + original.count / 50 + 8)
            stuffer.encode(ByteBuffer(bytes: entry.item.prefix), into: &content)
            stuffer.encode(ByteBuffer(bytes: original), into: &content)
            stuffer.finish(into: &content)
        }
        let envelope = DeliveryEnvelope(sender: entry.item.sender, recipients: entry.item.recipients,
                                        size: UInt64(entry.item.prefix.count + original.count))
        let outcome = try await session.deliver(envelope, content: content)
        settle(entry, settings.name, outcome: outcome, unreadable: false)
    }

    private func settle(_ entry: QueueEntry, _ connection: String, outcome: DeliveryOutcome, unreadable: Bool) {
        if case .deferred = outcome {} else { recent.forget(entry.id) }
        let now = Date()
        let jitter = options.jitter.next()
        let record: JournalRecord? = book.withLock { book in
            let metrics = book.metrics[connection]
            switch outcome {
            case .delivered:
                book.peers[connection]?.delivered(entry.id)
                Self.resumeWaiters(of: entry.id, in: &book)
                metrics?.attempt(.delivered)
                return .delivered(id: entry.id)
            case .deferred(let reason):
                metrics?.attempt(.deferred)
                return book.peers[connection]?.deferred(entry.id, reason: reason, now: now, jitter: jitter, backOff: true)
            case .rejected(let reason):
                metrics?.attempt(unreadable ? .unreadable : .rejected)
                return book.peers[connection]?.rejected(entry.id, reason: reason)
            }
        }
        if case .rejected(let reason) = outcome {
            logger.warning("forward: message held", metadata: ["connection": "\(connection)", "entry": "\(entry.id)", "reason": "\(reason)"])
        }
        if let record { writer.post([record]) }
    }

    private func peerUp(_ connection: String) {
        let wasDown = book.withLock { book in
            let before = book.peers[connection]?.peerState
            book.peers[connection]?.peerUp()
            return before == .down
        }
        if wasDown { logger.info("forward: peer is back", metadata: ["connection": "\(connection)"]) }
    }

    private func sessionFailed(_ connection: String, entry: QueueEntry?, reason: String) {
        let now = Date()
        let jitter = options.jitter.next()
        let (record, wasUp): (JournalRecord?, Bool) = book.withLock { book in
            let before = book.peers[connection]?.peerState
            book.peers[connection]?.peerFailed(reason: reason, now: now, jitter: jitter)
            book.metrics[connection]?.attempt(.sessionFailed)
            guard let entry else { return (nil, before != .down) }
            return (book.peers[connection]?.deferred(entry.id, reason: reason, now: now, jitter: jitter, backOff: false), before != .down)
        }
        if wasUp {
            logger.warning("forward: peer unreachable, backing off", metadata: ["connection": "\(connection)", "reason": "\(reason)"])
        }
        if let record { writer.post([record]) }
    }

    static func makeTLSContext(_ settings: PeerSettings) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if settings.tls == .required {
            configuration.certificateVerification = .fullVerification
            if let ca = settings.caFile { configuration.trustRoots = .file(ca) }
        } else {
            // Opportunistic TLS protects against passive listeners only (RFC 7435).
            configuration.certificateVerification = .none
        }
        if let certificate = settings.clientCertificateFile, let key = settings.clientKeyFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
