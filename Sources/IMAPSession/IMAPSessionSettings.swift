public import AerieAuth
public import SASL

/// What a connection's session needs to know of the configuration; the server maps `AerieSettings` onto it.
public struct IMAPSessionSettings: Sendable {
    public var greeting: String
    /// Mechanisms, cleartext before TLS, failure delay and attempt limit; a failed attempt's reply is a NO.
    public var auth: LoginAuthSettings
    /// Syntax errors and out-of-state commands tolerated before login, as Dovecot's login process does.
    public var maxBadCommands: Int
    /// RFC 7889 §3: the APPEND limit of every mailbox, advertised after login; nil advertises none.
    public var appendLimit: Int?
    /// RFC 8437 §8: UNAUTHENTICATE can be turned off (`imap_unauthenticate = no`); then it is neither advertised
    /// nor accepted.
    public var unauthenticate: Bool

    public init(
        greeting: String = "Aerie ready.",
        auth: LoginAuthSettings = LoginAuthSettings(mechanisms: [.plain]),
        maxBadCommands: Int = 10,
        appendLimit: Int? = nil,
        unauthenticate: Bool = true
    ) {
        self.greeting = greeting
        self.auth = auth
        self.maxBadCommands = maxBadCommands
        self.appendLimit = appendLimit
        self.unauthenticate = unauthenticate
    }
}
