public import AerieAuth
public import SASL

/// What a POP3 connection's session needs to know of the configuration; the server maps `AerieSettings` onto it.
public struct POP3SessionSettings: Sendable {
    /// Text of the `+OK` greeting (RFC 1939 §4).
    public var greeting: String
    /// Mechanisms (listed by `CAPA`, RFC 5034 §5), cleartext before TLS, failure delay and attempt limit; a failed
    /// attempt's reply is an `-ERR`.
    public var auth: LoginAuthSettings
    /// Unknown, malformed and out-of-state commands tolerated before the connection is closed.
    public var maxBadCommands: Int
    /// `pop3_uidl_format` (see `POP3UIDL`); Dovecot's default, UID then UIDVALIDITY.
    public var uidlFormat: String

    public init(
        greeting: String = "Aerie ready.",
        auth: LoginAuthSettings = LoginAuthSettings(mechanisms: [.plain, .login]),
        maxBadCommands: Int = 10,
        uidlFormat: String = "%08Xu%08Xv"
    ) {
        self.greeting = greeting
        self.auth = auth
        self.maxBadCommands = maxBadCommands
        self.uidlFormat = uidlFormat
    }
}
