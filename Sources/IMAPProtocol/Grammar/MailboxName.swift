extension ByteCursor {
    /// RFC 9051 §9: `mailbox = "INBOX" / astring`; INBOX in any case means the inbox.
    mutating func parseMailboxName() throws(ParseFailure) -> String {
        let name = try parseAString(what: "mailbox name").utf8String("Mailbox name")
        return name.uppercased() == "INBOX" ? "INBOX" : name
    }
}
