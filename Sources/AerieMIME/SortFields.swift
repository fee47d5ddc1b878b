/// The first address of an address header, as SORT reads it (RFC 5256 §3, RFC 5957 §2).
public struct SortAddress: Sendable, Equatable {
    /// addr-name, RFC 2047 decoded; nil when absent.
    public var displayName: String?
    /// addr-mailbox (the local part).
    public var mailbox: String
    /// addr-host.
    public var host: String

    public init(displayName: String?, mailbox: String, host: String) {
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

    /// RFC 5256 §3: the first mailbox of the first field with this name (From, To, Cc); group names and ends are
    /// skipped. Nil when the field is missing or holds no mailbox.
    public func firstAddress(_ name: String) -> SortAddress? {
        guard let field = firstField(name), let list = AddressParser.parse(field.value(in: crlfBytes), maxAddresses: 64)
        else { return nil }
        // A group start has no domain, a group end has nothing: neither is a mailbox.
        guard let first = list.first(where: { $0.mailbox != nil && $0.domain != nil }) else { return nil }
        return SortAddress(
            displayName: first.name.map { EncodedWords.decode($0) }, mailbox: ASCII.string(first.mailbox ?? []),
            host: ASCII.string(first.domain ?? []))
    }

    private func firstField(_ name: String) -> HeaderField? {
        parts[0].fields.first { ASCII.equalsIgnoringCase($0.name(in: crlfBytes), name) }
    }
}
