/// UIDLs captured from Debian's Dovecot 2.3.19.1 (`/work/shared/peers/dovecot-anchor`, maildir, default settings),
/// so the UIDL tests need no running Dovecot.
///
/// Captured on 2026-11-25: Python `imaplib` APPENDed 12 messages to test7's INBOX, read UIDVALIDITY from SELECT and
/// the UIDs from `UID SEARCH ALL`, then `poplib` ran UIDL. `doveconf pop3_uidl_format` printed `%08Xu%08Xv` (the
/// default: UID first, lower-case hex). A second run with
/// `pop3_uidl_format = %v-%u-%Xv-%08Xu-%f-%Uf-%3.4v-%-4v-%5Lv` gave `mixedFormatUIDL` for message 1 (maildir file
/// `1795630009.M278684P9282.vm,S=81,W=87:2,S`). Dovecot 2.3 refuses `%{…}` in this setting
/// ("Unknown pop3_uidl_format variable: %{") and `%m` on maildir ("Header MD5 not found").
enum DovecotUIDLFixture {
    static let uidValidity: UInt32 = 1_795_630_009
    /// (uid, UIDL line as Dovecot sent it: "msg uidl").
    static let defaultFormatListing: [(uid: UInt32, line: String)] = [
        (1, "1 000000016b0723b9"),
        (2, "2 000000026b0723b9"),
        (3, "3 000000036b0723b9"),
        (4, "4 000000046b0723b9"),
        (5, "5 000000056b0723b9"),
        (6, "6 000000066b0723b9"),
        (7, "7 000000076b0723b9"),
        (8, "8 000000086b0723b9"),
        (9, "9 000000096b0723b9"),
        (10, "10 0000000a6b0723b9"),
        (11, "11 0000000b6b0723b9"),
        (12, "12 0000000c6b0723b9"),
    ]

    static let mixedFormat = "%v-%u-%Xv-%08Xu-%f-%Uf-%3.4v-%-4v-%5Lv"
    static let mixedFormatFileName = "1795630009.M278684P9282.vm,S=81,W=87"
    static let mixedFormatUIDL =
        "1795630009-1-6b0723b9-00000001-1795630009.M278684P9282.vm,S=81,W=87-1795630009.M278684P9282.VM,S=81,W=87-5630-1795-17956"
}
