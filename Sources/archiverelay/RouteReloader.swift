import Dispatch
import Foundation
import Logging

/// `kill -HUP`: re-reads the configuration file and swaps in its routes, without touching
/// sessions. A file that does not check keeps the running routes, and the log says why.
/// Listeners, the archive and the admin address are read at start only (restart to change
/// them); a reload that changes them is applied to the routes and logged as partial.
final class RouteReloader: @unchecked Sendable {
    private let path: String
    private let routes: RouteStore
    private let logger: Logger
    private var source: (any DispatchSourceSignal)?
    private let startListeners: [String]

    init(path: String, routes: RouteStore, logger: Logger) {
        self.path = path
        self.routes = routes
        self.logger = logger
        self.startListeners = ((try? NodeConfiguration.load(path: path))?.listener ?? []).map { "\($0.name)=\($0.address)" }
    }

    func start() {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { [self] in reload() }
        source.resume()
        self.source = source
    }

    func reload() {
        do {
            let configuration = try NodeConfiguration.load(path: path)
            let problems = configuration.allProblems()
            guard problems.isEmpty else {
                logger.error("reload refused; the running routes stay", metadata: ["file": "\(path)", "problems": "\(problems)"])
                return
            }
            let table = try configuration.routingTable()
            routes.replace(with: table)
            let listeners = (configuration.listener ?? []).map { "\($0.name)=\($0.address)" }
            if listeners != startListeners {
                logger.warning("reload: listener changes need a restart; routes were applied", metadata: ["file": "\(path)"])
            }
            logger.notice("routes reloaded", metadata: ["file": "\(path)", "routes": "\(table.routes.map(\.name))"])
        } catch {
            logger.error("reload refused; the running routes stay", metadata: ["file": "\(path)", "error": "\(error)"])
        }
    }
}
