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
