/// Who is on the other end, and whether the channel is encrypted; facts the transport knows and the session reports.
public struct ConnectionContext: Sendable, Equatable {
    /// The client's address: the peer's, or what a trusted proxy (PROXY header, ID x-originating-ip) says it is.
    public var remoteIP: String
    public var localIP: String
    public var remotePort: Int?
    public var localPort: Int?
    public var sessionID: String
    public var isTLS: Bool
    /// True for implicit-TLS listeners; there STARTTLS is meaningless.
    public var startTLSAvailable: Bool
    /// A trusted proxy's PROXY header said the client's own connection to it used TLS (PP2_CLIENT_SSL).
    public var proxiedTLS: Bool
    /// The client's address is in `login_trusted_networks`: it may tell us another client's address (IMAP ID).
    public var trusted: Bool
    /// The login name from a TLS client certificate that verified (`auth_ssl_username_from_cert`); SASL EXTERNAL
    /// logs in as it.
    public var clientCertificateUser: String?
    /// RFC 9266 `tls-exporter` channel binding data of this TLS 1.3 connection, when SCRAM-SHA-256-PLUS is offered.
    public var channelBinding: [UInt8]?

    public init(
        remoteIP: String, localIP: String, sessionID: String, isTLS: Bool, startTLSAvailable: Bool,
        remotePort: Int? = nil, localPort: Int? = nil, proxiedTLS: Bool = false, trusted: Bool = false
    ) {
        self.remoteIP = remoteIP
        self.localIP = localIP
        self.remotePort = remotePort
        self.localPort = localPort
        self.sessionID = sessionID
        self.isTLS = isTLS
        self.startTLSAvailable = startTLSAvailable
        self.proxiedTLS = proxiedTLS
        self.trusted = trusted
    }

    /// Only TLS secures a connection: ours, or the client's own leg when a trusted proxy says it terminated TLS.
    /// Dovecot also trusts loopback and trusted networks; Aerie does not, so a local proxy cannot leak passwords.
    public var isSecured: Bool { isTLS || proxiedTLS }
}
