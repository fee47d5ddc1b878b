public import SASL

/// What a POP3 connection's session needs to know of the configuration; the server maps `AerieSettings` onto it.
public struct POP3SessionSettings: Sendable {
    /// Text of the `+OK` greeting (RFC 1939 §4).
    public var greeting: String
    /// SASL mechanisms offered by `AUTH` and listed by `CAPA` (RFC 5034 §4, §5).
    public var mechanisms: [SASLMechanism]
    /// `auth_allow_cleartext`: USER/PASS and plaintext SASL before TLS. Off by default.
    public var allowCleartextWithoutTLS: Bool
    /// `auth_failure_delay`: how long a failed attempt waits before its `-ERR`.
    public var failureDelay: Duration
    /// Failed authentications after which the connection is closed.
    public var maxAuthFailures: Int
    /// Unknown, malformed and out-of-state commands tolerated before the connection is closed.
    public var maxBadCommands: Int
    /// `pop3_uidl_format` (see `POP3UIDL`); Dovecot's default, UID then UIDVALIDITY.
    public var uidlFormat: String
    /// Longest SASL response we decode (RFC 5034 §4 responses are not bound by the 255-octet command limit).
    public var maxSASLResponseLength: Int

    public init(
        greeting: String = "Aerie ready.",
        mechanisms: [SASLMechanism] = [.plain, .login],
        allowCleartextWithoutTLS: Bool = false,
        failureDelay: Duration = .seconds(2),
        maxAuthFailures: Int = 3,
        maxBadCommands: Int = 10,
        uidlFormat: String = "%08Xu%08Xv",
        maxSASLResponseLength: Int = 8192
    ) {
        self.greeting = greeting
        self.mechanisms = mechanisms
        self.allowCleartextWithoutTLS = allowCleartextWithoutTLS
        self.failureDelay = failureDelay
        self.maxAuthFailures = maxAuthFailures
        self.maxBadCommands = maxBadCommands
        self.uidlFormat = uidlFormat
        self.maxSASLResponseLength = maxSASLResponseLength
    }
}
