import ForwardQueue

extension PeerSettings {
    /// The queue's settings for a validated `[[connection]]`; `nodeID` is the EHLO name
    /// when the connection names none.
    public init(_ connection: ConnectionConfiguration, nodeID: String) {
        self.init(name: connection.name, host: connection.host, port: connection.port)
        tls = switch connection.tls {
        case .none: .none
        case .opportunistic: .opportunistic
        case .required: .required
        }
        caFile = connection.caFile
        serverName = connection.serverName
        clientCertificateFile = connection.certificateFile
        clientKeyFile = connection.keyFile
        maxConnections = connection.maxConnections
        queueLimit = connection.queueLimit
        queueMaxBytes = UInt64(connection.queueMaxBytes)
        onFull = connection.onFull == .tempfail ? .tempfail : .dropForward
        minBackoff = Double(connection.minBackoffSeconds)
        maxBackoff = Double(connection.maxBackoffSeconds)
        maxRetries = connection.maxRetries
        connectTimeout = Double(connection.connectTimeoutSeconds)
        commandTimeout = Double(connection.commandTimeoutSeconds)
        dataTimeout = Double(connection.dataTimeoutSeconds)
        heloName = connection.helo ?? nodeID
    }
}
