/// The admin endpoint's TLS files: it speaks only TLS on its port when these are set.
public struct AdminTLSFiles: Sendable, Equatable {
    /// PEM certificate chain, the endpoint's own certificate first.
    public var certificateFile: String
    /// PEM private key.
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// `[node] admin_tls_certificate_file` and `admin_tls_key_file`: both or neither, each readable.
enum AdminTLSCheck {
    static func check(_ node: NodeConfiguration.Node?, environment: ConfigurationCheck.Environment,
                      problems: inout ConfigurationProblems) {
        switch (node?.admin_tls_certificate_file, node?.admin_tls_key_file) {
        case (nil, nil):
            return
        case (let certificate?, let key?):
            for (name, path) in [("admin_tls_certificate_file", certificate), ("admin_tls_key_file", key)] {
                if let why = environment.unreadable(path) { problems.error("node", "\(name) \(path): \(why)") }
            }
        default:
            problems.error("node", "set admin_tls_certificate_file and admin_tls_key_file together (or neither)")
        }
    }
}
