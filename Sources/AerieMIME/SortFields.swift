/// The first address of an address header, as SORT reads it (RFC 5256 §3, RFC 5957 §2).
public struct SortAddress: Sendable, Equatable {
    /// addr-name, RFC 2047 decoded; nil when absent.
    public var displayName: String?
    /// addr-mailbox (the local part).
    public var mailbox: String
    /// addr-host; nil for a group start, whose addr-mailbox is the group name (RFC 9051 §7.5.2).
    public var host: String?

    public init(displayName: String?, mailbox: String, host: String?) {
        self.displayName = displayName
        self.mailbox = mailbox
        self.host = host
    }
}

extension ParsedMessage {
    /// RFC 5256 §2.1: the base subject of the first Subject field (an empty one when there is none).
    public func baseSubject() -> BaseSubject {
        guard let field = firstField("Subject") else { return BaseSubject(text: "", isReplyOrForward: false) }
        return SortKeys.extractBaseSubject(field.value(in: crlfBytes))
    }

    /// RFC 5256 §3: the first address of the first field with this name (From, To, Cc) as ENVELOPE lists it, so a
    /// group's start (its name as addr-mailbox, no host) counts, as in Dovecot. Nil when the field is missing or empty.
    public func firstAddress(_ name: String) -> SortAddress? {
        guard let field = firstField(name),
            let first = AddressParser.parse(field.value(in: crlfBytes), maxAddresses: 64)?.first,
            let mailbox = first.mailbox
        else { return nil }
        return SortAddress(
            displayName: first.name.map { EncodedWords.decode($0) }, mailbox: ASCII.string(mailbox),
            host: first.domain.map { ASCII.string($0) })
    }

    private func firstField(_ name: String) -> HeaderField? {
        parts[0].fields.first { ASCII.equalsIgnoringCase($0.name(in: crlfBytes), name) }
    }
}
