/// What a logged-in session needs of the configuration.
public struct MailSessionSettings: Sendable {
    /// RFC 7889 APPENDLIMIT: the largest message APPEND accepts.
    public var appendLimit: Int
    /// Mailboxes created and subscribed at first login, with their RFC 6154 special-use attribute.
    public var autoMailboxes: [AutoMailbox]
    /// How long an IDLE client waits at most before it hears of a change.
    public var idlePollInterval: Duration
    /// The hierarchy separator clients see (Dovecot's namespace `separator`); storage names always use `/`.
    public var separator: Character
    /// The longest a SEARCH, SORT or THREAD may run (`imap_search_time_limit`); then it answers NO [LIMIT].
    public var searchTimeLimit: Duration

    public struct AutoMailbox: Sendable, Equatable {
        /// As written in the configuration: with the client's `separator`, like Dovecot's.
        public var name: String
        public var specialUse: [String]
        /// "no", "create" or "subscribe", as Dovecot's `auto`.
        public var auto: String

        public init(name: String, specialUse: [String], auto: String) {
            self.name = name
            self.specialUse = specialUse
            self.auto = auto
        }
    }

    public init(
        appendLimit: Int = 50 * 1024 * 1024, autoMailboxes: [AutoMailbox] = [],
        idlePollInterval: Duration = .milliseconds(500), separator: Character = "/",
        searchTimeLimit: Duration = .seconds(30)
    ) {
        self.searchTimeLimit = searchTimeLimit
        self.appendLimit = appendLimit
        self.autoMailboxes = autoMailboxes
        self.idlePollInterval = idlePollInterval
        self.separator = separator
    }
}
