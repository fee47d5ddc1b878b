/// Who is on the other end, and whether the channel is encrypted; facts the transport knows and the session reports.
public struct ConnectionContext: Sendable, Equatable {
    public var remoteIP: String
    public var localIP: String
    public var sessionID: String
    public var isTLS: Bool
    /// True for implicit-TLS listeners; there STARTTLS is meaningless.
    public var startTLSAvailable: Bool

    public init(remoteIP: String, localIP: String, sessionID: String, isTLS: Bool, startTLSAvailable: Bool) {
        self.remoteIP = remoteIP
        self.localIP = localIP
        self.sessionID = sessionID
        self.isTLS = isTLS
        self.startTLSAvailable = startTLSAvailable
    }

    /// Only TLS secures a connection. Dovecot also trusts loopback; Aerie does not, so a local proxy cannot leak passwords.
    public var isSecured: Bool { isTLS }
}
