import IMAPProtocol

extension IMAPCommands {
    /// Named in IMAP4rev2 extensions Aerie does not implement (and does not advertise): METADATA (RFC 5464), ACL
    /// (RFC 4314), REPLACE (RFC 8508), multimailbox ESEARCH (RFC 7377). Their arguments are not parsed.
    static let unsupported = [
        "GETMETADATA", "SETMETADATA", "SETACL", "DELETEACL", "GETACL", "LISTRIGHTS", "MYRIGHTS", "REPLACE", "ESEARCH",
    ].map(notSupported)
}
