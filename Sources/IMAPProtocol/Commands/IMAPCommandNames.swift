/// Command names Aerie recognises: IMAP4rev2 (RFC 9051 §6) plus the extensions it implements or
/// plans to; anything else is "Unknown command".
public enum IMAPCommandNames {
    public static let known: Set<String> = [
        // RFC 9051 §6.1 – §6.4
        "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "AUTHENTICATE", "LOGIN",
        "ENABLE", "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
        "LIST", "NAMESPACE", "STATUS", "APPEND", "IDLE", "CLOSE", "UNSELECT", "EXPUNGE",
        "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "UID",
        // IMAP4rev1 (RFC 3501) commands still sent by clients
        "CHECK", "LSUB",
        // Extensions
        "ID",  // RFC 2971
        "UNAUTHENTICATE",  // RFC 8437
        "COMPRESS",  // RFC 4978
        "GETQUOTA", "GETQUOTAROOT", "SETQUOTA",  // RFC 9208
        "SORT", "THREAD",  // RFC 5256
        "CANCELUPDATE",  // RFC 5267
        "GETMETADATA", "SETMETADATA",  // RFC 5464
        "SETACL", "DELETEACL", "GETACL", "LISTRIGHTS", "MYRIGHTS",  // RFC 4314
        "NOTIFY",  // RFC 5465
        "REPLACE",  // RFC 8508
        "ESEARCH",  // RFC 7377 (multimailbox search)
    ]

    /// RFC 9051 §6.4.9 and the extensions' UID forms: the commands `UID` may prefix.
    public static let uidCommands: Set<String> = [
        "FETCH", "SEARCH", "STORE", "COPY", "MOVE", "SORT", "THREAD", "EXPUNGE",
    ]

    /// Every name a parsed command carries (`IMAPCommandKind.name`): `UID` stands for its forms (`UID FETCH`, …).
    public static var commands: Set<String> {
        known.subtracting(["UID"]).union(uidCommands.map { "UID " + $0 })
    }
}
