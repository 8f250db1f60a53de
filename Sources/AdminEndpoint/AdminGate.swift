import Hummingbird
import HTTPTypes
import Logging

/// Runs before every route: the access policy (Host, Origin), the body limit, the open
/// paths, then the bearer token. Any error a route throws leaves as `{"error": ...}`.
public struct AdminGate: RouterMiddleware {
    public typealias Context = AdminContext

    /// Open to anyone who passes the policy, with GET or HEAD: Prometheus and load balancers.
    public static let openPaths: Set<String> = ["/metrics", "/healthz", "/readyz"]
    /// The OS user the CLI runs as, honoured on the local token only (the audit's `user:NAME`).
    public static let operatorHeader = HTTPField.Name("X-Archiverelay-Operator")!

    let policy: AdminAccessPolicy
    let tokens: AdminTokenRing
    let limits: AdminLimits
    let logger: Logger

    public func handle(_ request: Request, context: AdminContext, next: (Request, AdminContext) async throws -> Response) async throws -> Response {
        do {
            return try await admit(request, context: context, next: next)
        } catch let failure as AdminFailure {
            return try failure.response(from: request, context: context)
        } catch let error as HTTPResponseError {
            // Hummingbird's own (no route: 404; a bad request: 400), in our JSON.
            return try AdminFailure(error.status, error.status.reasonPhrase.lowercased()).response(from: request, context: context)
        } catch {
            logger.error("admin route failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return try AdminFailure(.internalServerError, "\(error)").response(from: request, context: context)
        }
    }

    private func admit(_ request: Request, context: AdminContext, next: (Request, AdminContext) async throws -> Response) async throws -> Response {
        if let refusal = policy.refusal(for: request.head) {
            AdminMetrics.refused(refusal)
            logger.notice("admin request refused", metadata: [
                "reason": "\(refusal.rawValue)", "method": "\(request.method)", "uri": "\(request.uri.string.debugDescription)",
                "client": "\(context.client)",
            ])
            throw AdminFailure(refusal.status, refusal.message)
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limits.maxBodyBytes {
            throw AdminFailure(.contentTooLarge, "request body over \(limits.maxBodyBytes) bytes")
        }
        if Self.openPaths.contains(request.uri.path) && (request.method == .get || request.method == .head) {
            return try await next(request, context)
        }
        guard let authorization = request.headers[.authorization], authorization.lowercased().hasPrefix("bearer "),
              let credential = tokens.tokens.token(for: String(authorization.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces))
        else {
            AdminMetrics.refusedToken()
            throw AdminFailure.unauthorized("a valid bearer token is required (Authorization: Bearer TOKEN)")
        }
        var context = context
        var actor = "token:\(credential.token.name)"
        if credential.isLocal, let user = request.headers[Self.operatorHeader], Self.isUserName(user) {
            actor = "user:\(user)"
        }
        context.caller = AdminCaller(tokenName: credential.token.name, role: credential.token.role, actor: actor)
        return try await next(request, context)
    }

    /// A user name as the password database spells one (no spaces or controls in the log).
    static func isUserName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-$".contains($0)) }
    }
}
