/// One parsed client command.
public struct IMAPCommand: Sendable, Equatable {
    public var tag: IMAPTag
    public var kind: IMAPCommandKind
    /// The command for logs: LOGIN's password and AUTHENTICATE's initial response are `<hidden>`,
    /// literals are `{N}` placeholders, control characters are `?`.
    public var redactedDescription: String

    public init(tag: IMAPTag, kind: IMAPCommandKind, redactedDescription: String) {
        self.tag = tag
        self.kind = kind
        self.redactedDescription = redactedDescription
    }
}

/// What the client asked for.
public enum IMAPCommandKind: Sendable, Equatable {
    /// RFC 9051 §6.1.1
    case capability
    /// RFC 9051 §6.1.2
    case noop
    /// RFC 9051 §6.1.3
    case logout
    /// RFC 9051 §6.2.1
    case starttls
    /// RFC 9051 §6.2.3; both valid UTF-8.
    case login(user: String, password: String)
    /// RFC 9051 §6.2.2 and RFC 4959 §3: `mechanism` upper-cased; `initialResponse` is the base64
    /// text or `=` (empty response) exactly as sent, nil without SASL-IR.
    case authenticate(mechanism: String, initialResponse: String?)
    /// RFC 2971 §3.1: nil for `ID NIL`.
    case id(IDParameters?)
    /// RFC 5161 §3.1: capability names, upper-cased.
    case enable([String])
    /// RFC 9051 §6.3.2, with RFC 7162 §3.1.8 / §3.2.5 CONDSTORE and QRESYNC parameters.
    case select(mailbox: MailboxName, parameters: SelectParameters)
    /// RFC 9051 §6.3.3
    case examine(mailbox: MailboxName, parameters: SelectParameters)
    /// RFC 9051 §6.3.4; `specialUse` from RFC 6154 §3 `USE (\Sent …)`, as sent (with the backslash).
    case create(mailbox: MailboxName, specialUse: [String])
    /// RFC 9051 §6.3.5
    case delete(MailboxName)
    /// RFC 9051 §6.3.6
    case rename(from: MailboxName, to: MailboxName)
    /// RFC 9051 §6.3.7
    case subscribe(MailboxName)
    /// RFC 9051 §6.3.8
    case unsubscribe(MailboxName)
    /// RFC 9051 §6.3.9, RFC 5258 (LIST-EXTENDED), RFC 5819 (LIST-STATUS), RFC 6154 (SPECIAL-USE).
    case list(ListCommand)
    /// RFC 3501 §6.3.9
    case lsub(reference: MailboxName, pattern: String)
    /// RFC 9051 §6.3.10
    case namespace
    /// RFC 9051 §6.3.11; items in the client's order.
    case status(mailbox: MailboxName, items: [StatusItem])
    /// RFC 9051 §6.3.12; several messages are RFC 3502 MULTIAPPEND.
    case append(mailbox: MailboxName, messages: [AppendMessage])
    /// RFC 9051 §6.3.13 (RFC 2177); the client ends it with a `DONE` line, see `IMAPCommandParser.parseIdleDone`.
    case idle
    /// RFC 3501 §6.4.1
    case check
    /// RFC 9051 §6.4.1
    case close
    /// RFC 9051 §6.4.2
    case unselect
    /// RFC 9051 §6.4.3
    case expunge
    /// RFC 9051 §6.4.9 (RFC 4315 §2.1): `UID EXPUNGE sequence-set`.
    case uidExpunge(SequenceSet)
    /// RFC 9051 §6.4.4 and `UID SEARCH`.
    case search(SearchCommand)
    /// RFC 9051 §6.4.5 and `UID FETCH`.
    case fetch(FetchCommand)
    /// RFC 9051 §6.4.6 and `UID STORE`.
    case store(StoreCommand)
    /// RFC 9051 §6.4.7 and `UID COPY`.
    case copy(uid: Bool, sequence: SequenceSet, mailbox: MailboxName)
    /// RFC 9051 §6.4.8 (RFC 6851) and `UID MOVE`.
    case move(uid: Bool, sequence: SequenceSet, mailbox: MailboxName)
    /// RFC 5256 §3 with RFC 5267 §3 (ESORT) return options; `charset` upper-cased.
    case sort(uid: Bool, criteria: [SortCriterion], charset: String, key: SearchKey, returnOptions: [SearchReturnOption])
    /// RFC 5267 §4.3: the tags of the SEARCH RETURN (UPDATE) commands whose updates end.
    case cancelUpdate([String])
    /// RFC 5465 §3: NOTIFY SET, or nil for NOTIFY NONE.
    case notify(NotifyCommand?)
    /// RFC 5256 §3; `algorithm` and `charset` upper-cased.
    case thread(uid: Bool, algorithm: String, charset: String, key: SearchKey)
    /// RFC 4978 §3; the algorithm upper-cased (`DEFLATE`).
    case compress(String)
    /// RFC 9208 §4.2: the quota root name.
    case getQuota(String)
    /// RFC 9208 §4.3
    case getQuotaRoot(MailboxName)
    /// RFC 9208 §4.1: resource names upper-cased.
    case setQuota(root: String, limits: [QuotaLimit])
    /// RFC 8437 §3
    case unauthenticate
    /// A command known to IMAP4rev2 or a supported extension whose arguments this slice does not
    /// parse yet (upper-cased name); the session answers it according to its state.
    case other(name: String)
}

/// The field/value list of an ID command (RFC 2971 §3.3), in the client's order.
public struct IDParameters: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String?

        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
    }

    /// RFC 2971 §3.3: at most 30 pairs, names up to 30 octets, values up to 1024 octets.
    public static let maximumFields = 30
    public static let maximumNameLength = 30
    public static let maximumValueLength = 1024

    public var fields: [Field]

    public init(_ fields: [Field]) {
        self.fields = fields
    }

    public init(pairs: [(String, String?)]) {
        self.fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    /// The fields as (name, value) pairs.
    public var pairs: [(String, String?)] { fields.map { ($0.name, $0.value) } }

    /// The first value for `name`, compared case-insensitively (field names are, RFC 2971 §3.3).
    public subscript(name: String) -> String? {
        fields.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}
