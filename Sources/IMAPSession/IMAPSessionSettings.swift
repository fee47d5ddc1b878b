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

    public init(
        greeting: String = "Aerie ready.",
        mechanisms: [SASLMechanism] = [.plain],
        allowCleartextWithoutTLS: Bool = false,
        failureDelay: Duration = .seconds(2),
        maxAuthFailures: Int = 3,
        maxBadCommands: Int = 10,
        maxSASLResponseLength: Int = 8192
    ) {
        self.greeting = greeting
        self.mechanisms = mechanisms
        self.allowCleartextWithoutTLS = allowCleartextWithoutTLS
        self.failureDelay = failureDelay
        self.maxAuthFailures = maxAuthFailures
        self.maxBadCommands = maxBadCommands
        self.maxSASLResponseLength = maxSASLResponseLength
    }
}

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
