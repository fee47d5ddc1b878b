public import SASL

/// How the login phase authenticates, the same for IMAP and POP3.
public struct LoginAuthSettings: Sendable {
    /// SASL mechanisms offered (IMAP AUTHENTICATE, RFC 9051 §6.2.2; POP3 AUTH, RFC 5034 §4).
    public var mechanisms: [SASLMechanism]
    /// `auth_allow_cleartext`: cleartext logins (IMAP LOGIN, POP3 USER/PASS) and plaintext SASL before TLS.
    /// Off by default.
    public var allowCleartextWithoutTLS: Bool
    /// `auth_failure_delay`: how long a failed attempt waits before its failure reply.
    public var failureDelay: Duration
    /// Failed authentications after which the connection is closed.
    public var maxAuthFailures: Int
    /// Longest SASL response we decode (POP3's RFC 5034 §4 responses are not bound by its command line limit).
    public var maxSASLResponseLength: Int

    public init(
        mechanisms: [SASLMechanism],
        allowCleartextWithoutTLS: Bool = false,
        failureDelay: Duration = .seconds(2),
        maxAuthFailures: Int = 3,
        maxSASLResponseLength: Int = 8192
    ) {
        self.mechanisms = mechanisms
        self.allowCleartextWithoutTLS = allowCleartextWithoutTLS
        self.failureDelay = failureDelay
        self.maxAuthFailures = maxAuthFailures
        self.maxSASLResponseLength = maxSASLResponseLength
    }
}
