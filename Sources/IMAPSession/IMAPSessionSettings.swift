public import SASL

/// What a connection's session needs to know of the configuration; the server maps `AerieSettings` onto it.
public struct IMAPSessionSettings: Sendable {
    public var greeting: String
    public var mechanisms: [SASLMechanism]
    /// `auth_allow_cleartext`: LOGIN and plaintext SASL before TLS. Off by default.
    public var allowCleartextWithoutTLS: Bool
    /// `auth_failure_delay`: how long a failed attempt waits before its NO.
    public var failureDelay: Duration
    /// Failed authentications after which the connection is closed.
    public var maxAuthFailures: Int
    /// Syntax errors and out-of-state commands tolerated before login, as Dovecot's login process does.
    public var maxBadCommands: Int
    /// Longest SASL response line we decode.
    public var maxSASLResponseLength: Int
    /// RFC 7889 §3: the APPEND limit of every mailbox, advertised after login; nil advertises none.
    public var appendLimit: Int?

    public init(
        greeting: String = "Aerie ready.",
        mechanisms: [SASLMechanism] = [.plain],
        allowCleartextWithoutTLS: Bool = false,
        failureDelay: Duration = .seconds(2),
        maxAuthFailures: Int = 3,
        maxBadCommands: Int = 10,
        maxSASLResponseLength: Int = 8192,
        appendLimit: Int? = nil
    ) {
        self.greeting = greeting
        self.mechanisms = mechanisms
        self.allowCleartextWithoutTLS = allowCleartextWithoutTLS
        self.failureDelay = failureDelay
        self.maxAuthFailures = maxAuthFailures
        self.maxBadCommands = maxBadCommands
        self.maxSASLResponseLength = maxSASLResponseLength
        self.appendLimit = appendLimit
    }
}

