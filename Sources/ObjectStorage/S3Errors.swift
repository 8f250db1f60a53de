/// S3 answered and refused: the error code of its XML body (`AccessDenied`,
/// `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `NoSuchKey`, ...) with the HTTP status.
/// Retrying the same request will not help; the tier reports it.
public struct S3ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var status: Int
    public var requestID: String?

    public init(code: String, message: String, status: Int, requestID: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.requestID = requestID
    }

    public var description: String {
        "S3 refused the request: \(code) (HTTP \(status))" + (message.isEmpty ? "" : ": \(message)")
    }

    /// A body-less answer (HEAD) has only its status: the code S3 uses for it.
    static func fromStatus(_ status: Int) -> S3ServiceError {
        let code = switch status {
        case 301: "PermanentRedirect"
        case 400: "BadRequest"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 412: "PreconditionFailed"
        case 416: "InvalidRange"
        case 503: "SlowDown"
        default: "HTTP\(status)"
        }
        return S3ServiceError(code: code, message: "", status: status)
    }
}

/// The endpoint could not be reached or the exchange broke off (refused connection,
/// DNS, TLS handshake, timeout, connection closed): nothing says S3 refused anything,
/// and the tier backs off and tries again.
public struct S3TransportError: Error, Sendable, CustomStringConvertible {
    public var endpoint: String
    public var reason: String

    public var description: String { "cannot reach the object store at \(endpoint): \(reason)" }
}

/// What the client itself refused: bytes that do not match their checksum (the file
/// changed while it was sent, or the server confirmed other bytes), or an answer it
/// cannot read.
public enum S3IntegrityError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file's bytes as sent were not those hashed before (or named by the caller).
    case bodyChanged(path: String, expected: String, sent: String)
    /// The server confirmed a checksum other than the one sent, or none.
    case checksumNotConfirmed(sent: String, echoed: String?)
    /// A downloaded object's bytes differ from the checksum the server stored.
    case downloadMismatch(stored: String, received: String)
    /// A ranged read returned other bytes than the range asked for.
    case rangeMismatch(asked: String, got: String)
    /// The answer was not the XML (or headers) the operation returns.
    case malformedResponse(String)

    public var description: String {
        switch self {
        case .bodyChanged(let path, let expected, let sent):
            "\(path) changed while it was uploaded (SHA-256 \(expected) expected, \(sent) sent): upload aborted"
        case .checksumNotConfirmed(let sent, let echoed):
            "the server did not confirm the upload's SHA-256 \(sent) (it answered \(echoed ?? "none"))"
        case .downloadMismatch(let stored, let received):
            "downloaded bytes have SHA-256 \(received), the server stored \(stored)"
        case .rangeMismatch(let asked, let got):
            "asked for \(asked), the server answered \(got)"
        case .malformedResponse(let what):
            "unreadable answer from the object store: \(what)"
        }
    }
}
