/// How to reach a directory: Dovecot 2.4's `ldap_*` settings plus `ssl_client_ca_file`.
public struct LDAPConnectionSettings: Sendable, Equatable {
    public enum Scope: String, Sendable, Equatable { case base, onelevel, subtree }
    public enum Deref: String, Sendable, Equatable { case never, searching, finding, always }

    /// `ldap_uris`: tried in order when connecting (libldap's failover), e.g. `ldaps://a ldap://b:3890`.
    public var uris: [String]
    /// `ldap_auth_dn`: the DN searches bind as; empty searches anonymously.
    public var authDN: String
    /// `ldap_auth_dn_password`. A secret: never logged, never part of an error.
    public var authPassword: String
    /// `ldap_starttls`: upgrade `ldap://` connections with the StartTLS extended operation (RFC 4511 §4.14).
    public var startTLS: Bool
    /// `ssl_client_ca_file`: trust anchors for `ldaps://` and StartTLS; empty uses the system's.
    public var caFile: String
    /// `ssl_client_require_valid_cert`: demand a valid certificate whose name matches the URI's host.
    public var requireValidCertificate: Bool
    public var scope: Scope
    public var deref: Deref
    /// Connecting (TCP and TLS handshake) to one URI gives up after this.
    public var networkTimeout: Duration
    /// One bind or search gives up after this.
    public var operationTimeout: Duration
    /// Idle connections kept open for reuse.
    public var poolSize: Int

    public init(
        uris: [String], authDN: String = "", authPassword: String = "", startTLS: Bool = false, caFile: String = "",
        requireValidCertificate: Bool = true, scope: Scope = .subtree, deref: Deref = .never,
        networkTimeout: Duration = .seconds(5), operationTimeout: Duration = .seconds(5), poolSize: Int = 4
    ) {
        self.uris = uris
        self.authDN = authDN
        self.authPassword = authPassword
        self.startTLS = startTLS
        self.caFile = caFile
        self.requireValidCertificate = requireValidCertificate
        self.scope = scope
        self.deref = deref
        self.networkTimeout = networkTimeout
        self.operationTimeout = operationTimeout
        self.poolSize = poolSize
    }

    /// Whether any connection will use TLS.
    public var usesTLS: Bool { startTLS || uris.contains { $0.lowercased().hasPrefix("ldaps://") } }
}

/// A failed LDAP operation: the result code (RFC 4511 §4.1.9, or libldap's negative API codes) and libldap's
/// text for it. Never carries a password.
public struct LDAPError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// RFC 4511 invalidCredentials (49): a wrong password or an unknown DN in a bind.
    public var isInvalidCredentials: Bool { code == 49 }

    /// The connection is unusable (server down, connect error, timeout, busy/unavailable): reconnect or retry.
    public var isConnectionProblem: Bool {
        // LDAP_SERVER_DOWN -1, LDAP_TIMEOUT -5, LDAP_CONNECT_ERROR -11, busy 51, unavailable 52
        [-1, -5, -11, 51, 52].contains(code)
    }

    /// LDAP_SERVER_DOWN: the server closed the connection (e.g. it restarted); a fresh connection may work.
    public var isServerDown: Bool { code == -1 }

    public var description: String { "\(message) (\(code))" }
}
