/// Server-side SASL mechanisms Aerie offers to IMAP and POP3 clients.
public enum SASLMechanism: String, Sendable, CaseIterable {
    /// RFC 4616.
    case plain = "PLAIN"
    /// draft-murchison-sasl-login-00 (obsolete but still used by Outlook and older clients).
    case login = "LOGIN"
    /// RFC 5802: weak (SHA-1), offered only with `auth_allow_weak_schemes`.
    case scramSHA1 = "SCRAM-SHA-1"
    /// RFC 7677.
    case scramSHA256 = "SCRAM-SHA-256"
    /// RFC 7677 with channel binding `tls-exporter` (RFC 9266): offered on TLS 1.3 connections only.
    case scramSHA256Plus = "SCRAM-SHA-256-PLUS"
    /// RFC 4422 Appendix A: the TLS client certificate is the credential; offered only once one was verified.
    case external = "EXTERNAL"
    /// RFC 7628: an OAuth 2.0 bearer token, checked in the auth process.
    case oauthBearer = "OAUTHBEARER"
    /// Google's predecessor of OAUTHBEARER, still what many mail clients send.
    case xoauth2 = "XOAUTH2"

    /// The SCRAM hash, nil for mechanisms that carry the password itself.
    public var scramHash: SCRAMHash? {
        switch self {
        case .plain, .login, .external, .oauthBearer, .xoauth2: nil
        case .scramSHA1: .sha1
        case .scramSHA256, .scramSHA256Plus: .sha256
        }
    }

    /// RFC 5802 §6: a -PLUS mechanism binds the exchange to the TLS channel it runs in.
    public var bindsChannel: Bool { self == .scramSHA256Plus }
    /// Mechanisms whose exchange runs in the auth process (SCRAM's stored keys, OAuth2's issuer keys and HTTP).
    public var runsInAuthProcess: Bool {
        scramHash != nil || self == .oauthBearer || self == .xoauth2
    }
}

/// What a client proved it knows: the identity to act as, the identity it authenticates as, and the password.
/// `password` is a secret: never log or print it (RFC 4616 §6).
public struct SASLCredentials: Sendable, Equatable {
    /// The identity to act as (RFC 4616 §2 `authzid`); empty when the client sent none.
    public var authorizationID: String
    /// The identity whose password is checked (RFC 4616 §2 `authcid`).
    public var authenticationID: String
    public var password: String

    public init(authorizationID: String, authenticationID: String, password: String) {
        self.authorizationID = authorizationID
        self.authenticationID = authenticationID
        self.password = password
    }
}

/// One step of an exchange, as the session should act on it.
public enum SASLStep: Sendable, Equatable {
    /// Send these raw bytes as a server challenge; the session base64-encodes them (RFC 4422 §3.4 leaves framing to the protocol).
    case challenge([UInt8])
    /// The exchange finished with credentials to verify.
    case done(SASLCredentials)
    /// The exchange failed; the session answers NO/-ERR and may not reuse the exchange.
    case failed(SASLFailure)
}

/// Why an exchange failed. Carries no client data, so it is always safe to log.
public enum SASLFailure: Error, Sendable, Equatable {
    /// Bytes that do not parse as the mechanism's message (RFC 4616 §2 grammar, invalid UTF-8, NUL inside a field).
    case malformed
    /// The client sent "*" (RFC 4422 §3.5 abort), or the exchange was used after it ended.
    case cancelled
    /// A response longer than the configured maximum.
    case tooLong
}
