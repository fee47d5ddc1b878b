/// Untagged response data for `IMAPResponse.untagged(_:)` (the text after `* `), built from typed values.
public enum IMAPResponseLine {
    /// RFC 9051 §7.3.1: `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
    /// [SP mbox-list-extended]`; RFC 5258 §6 CHILDINFO (`("CHILDINFO" ("SUBSCRIBED"))`) and RFC 9051 OLDNAME.
    /// `attributes` are written as given (`\HasNoChildren`, `\Sent`, …).
    public static func list(
        attributes: [String], delimiter: Character?, mailbox: String, utf8Enabled: Bool,
        childInfoSubscribed: Bool = false, oldName: String? = nil
    ) -> String {
        mailboxList("LIST", attributes: attributes, delimiter: delimiter, mailbox: mailbox, utf8Enabled: utf8Enabled)
            + extendedItems(childInfoSubscribed: childInfoSubscribed, oldName: oldName, utf8Enabled: utf8Enabled)
    }

    /// RFC 3501 §7.2.3: `LSUB` has the LIST form.
    public static func lsub(attributes: [String], delimiter: Character?, mailbox: String, utf8Enabled: Bool) -> String {
        mailboxList("LSUB", attributes: attributes, delimiter: delimiter, mailbox: mailbox, utf8Enabled: utf8Enabled)
    }

    /// RFC 9051 §7.3.2: `STATUS mailbox (MESSAGES 3 UIDNEXT 9 …)`; RFC 8474 §4 `MAILBOXID (id)` when given.
    public static func status(mailbox: String, utf8Enabled: Bool, values: [(StatusItem, UInt64)], mailboxID: String? = nil) -> String {
        var items = values.map { "\($0.0.rawValue) \($0.1)" }
        if let mailboxID { items.append("MAILBOXID (\(mailboxID))") }
        return "STATUS " + IMAPEncoding.mailbox(mailbox, utf8Enabled: utf8Enabled) + " (" + items.joined(separator: " ") + ")"
    }

    /// RFC 3501 §7.2.5: `SEARCH 2 3 6`; RFC 7162 §3.1.5 adds `(MODSEQ n)` when MODSEQ was searched.
    public static func search(_ numbers: [UInt32], highestModSeq: UInt64? = nil) -> String {
        var line = "SEARCH"
        for number in numbers { line += " \(number)" }
        if let highestModSeq, !numbers.isEmpty { line += " (MODSEQ \(highestModSeq))" }
        return line
    }

    /// RFC 5256 §4: `SORT 2 3 6` (same shape as SEARCH).
    public static func sort(_ numbers: [UInt32], highestModSeq: UInt64? = nil) -> String {
        "SORT" + search(numbers, highestModSeq: highestModSeq).dropFirst("SEARCH".count)
    }

    /// RFC 4731 §3.1: `ESEARCH (TAG "a1") UID MIN 2 MAX 9 COUNT 4 ALL 2:4,9`; RFC 7162 §3.1.5 `MODSEQ n`.
    /// Items that are nil (or an empty ALL) are left out, as RFC 4731 asks when nothing matched.
    public static func esearch(
        tag: IMAPTag?, uid: Bool, min: UInt32? = nil, max: UInt32? = nil, count: Int? = nil,
        all: [UInt32]? = nil, partial: (range: SearchPartialRange, numbers: [UInt32])? = nil, modSeq: UInt64? = nil
    ) -> String {
        var line = "ESEARCH"
        if let tag { line += " (TAG " + IMAPEncoding.quotedOrLiteral(tag.rawValue, utf8Allowed: false) + ")" }
        if uid { line += " UID" }
        if let min { line += " MIN \(min)" }
        if let max { line += " MAX \(max)" }
        if let count { line += " COUNT \(count)" }
        if let all, !all.isEmpty { line += " ALL " + IMAPEncoding.sequenceSet(all) }
        if let partial { line += " " + esearchPartial(partial.range, partial.numbers) }
        if let modSeq { line += " MODSEQ \(modSeq)" }
        return line
    }

    /// RFC 9051 §7.3.5: `FLAGS (\Answered \Flagged …)`.
    public static func flags(_ flags: [Flag]) -> String { "FLAGS " + Flag.listString(flags) }

    /// RFC 7162 §3.2.10: `VANISHED [(EARLIER) ]uid-set`.
    public static func vanished(_ uids: [UInt32], earlier: Bool) -> String {
        "VANISHED " + (earlier ? "(EARLIER) " : "") + IMAPEncoding.sequenceSet(uids)
    }

    /// RFC 9051 §7.4.1 / §7.4.2: `N EXISTS`, `N EXPUNGE`; RFC 3501 `N RECENT`.
    public static func exists(_ count: UInt32) -> String { "\(count) EXISTS" }
    public static func expunge(_ sequenceNumber: UInt32) -> String { "\(sequenceNumber) EXPUNGE" }
    public static func recent(_ count: UInt32) -> String { "\(count) RECENT" }

    /// RFC 5161 §3.2: `ENABLED X Y`.
    public static func enabled(_ capabilities: [String]) -> String {
        (["ENABLED"] + capabilities.map(IMAPText.atom)).joined(separator: " ")
    }

    /// RFC 2342 §5: `NAMESPACE (("" "/")) NIL NIL`, one personal namespace with an empty prefix.
    public static func namespace(personalSeparator: Character) -> String {
        "NAMESPACE ((\"\" \(quotedDelimiter(personalSeparator)))) NIL NIL"
    }

    private static func mailboxList(_ name: String, attributes: [String], delimiter: Character?, mailbox: String, utf8Enabled: Bool) -> String {
        let attributeList = "(" + attributes.map(IMAPText.atomOrFlag).joined(separator: " ") + ")"
        let delimiterText = delimiter.map(quotedDelimiter) ?? "NIL"
        return "\(name) \(attributeList) \(delimiterText) " + IMAPEncoding.mailbox(mailbox, utf8Enabled: utf8Enabled)
    }

    /// RFC 9051 §9 `DQUOTE QUOTED-CHAR DQUOTE`: `"` and `\` escaped.
    private static func quotedDelimiter(_ delimiter: Character) -> String {
        delimiter == "\"" || delimiter == "\\" ? "\"\\\(delimiter)\"" : "\"\(delimiter)\""
    }

    private static func extendedItems(childInfoSubscribed: Bool, oldName: String?, utf8Enabled: Bool) -> String {
        var items: [String] = []
        if childInfoSubscribed { items.append("\"CHILDINFO\" (\"SUBSCRIBED\")") }
        if let oldName { items.append("\"OLDNAME\" (" + IMAPEncoding.mailbox(oldName, utf8Enabled: utf8Enabled) + ")") }
        return items.isEmpty ? "" : " (" + items.joined(separator: " ") + ")"
    }
}

extension IMAPText {
    /// A flag or mailbox attribute (`\Noselect`, `$Junk`): backslash then atom characters only.
    static func atomOrFlag(_ string: String) -> String {
        guard string.hasPrefix("\\") else { return atom(string) }
        return "\\" + atom(String(string.dropFirst()))
    }
}

extension IMAPResponseCode {
    /// RFC 9051 §7.1: `UIDVALIDITY n`.
    public static func uidValidity(_ value: UInt32) -> IMAPResponseCode { .other("UIDVALIDITY \(value)") }
    /// RFC 9051 §7.1: `UIDNEXT n`.
    public static func uidNext(_ value: UInt32) -> IMAPResponseCode { .other("UIDNEXT \(value)") }
    /// RFC 3501 §7.1: `UNSEEN n` (first unseen sequence number).
    public static func unseen(_ value: UInt32) -> IMAPResponseCode { .other("UNSEEN \(value)") }
    /// RFC 9051 §7.1: `PERMANENTFLAGS (…)`.
    public static func permanentFlags(_ flags: [Flag]) -> IMAPResponseCode { .other("PERMANENTFLAGS " + Flag.listString(flags)) }
    /// RFC 7162 §3.1.2.1: `HIGHESTMODSEQ n`; §3.1.2.2 `NOMODSEQ`; §3.1.3 `MODIFIED set`.
    public static func highestModSeq(_ value: UInt64) -> IMAPResponseCode { .other("HIGHESTMODSEQ \(value)") }
    public static let noModSeq = IMAPResponseCode.other("NOMODSEQ")
    public static func modified(_ numbers: [UInt32]) -> IMAPResponseCode { .other("MODIFIED " + IMAPEncoding.sequenceSet(numbers)) }
    /// RFC 4315 §3: `APPENDUID uidvalidity uid-set`, `COPYUID uidvalidity source-set dest-set` (order kept: paired).
    public static func appendUID(uidValidity: UInt32, uids: [UInt32]) -> IMAPResponseCode {
        .other("APPENDUID \(uidValidity) " + IMAPEncoding.sequenceSet(uids))
    }
    public static func copyUID(uidValidity: UInt32, source: [UInt32], destination: [UInt32]) -> IMAPResponseCode {
        .other("COPYUID \(uidValidity) " + IMAPEncoding.sequenceSet(source) + " " + IMAPEncoding.sequenceSet(destination))
    }
    /// RFC 8474 §4.1: `MAILBOXID (id)`.
    public static func mailboxID(_ id: String) -> IMAPResponseCode { .other("MAILBOXID (\(id))") }
    /// RFC 9051 §7.1: `BADCHARSET (UTF-8 US-ASCII)`.
    public static func badCharset(_ supported: [String]) -> IMAPResponseCode {
        .other("BADCHARSET (" + supported.map(IMAPText.atom).joined(separator: " ") + ")")
    }
    /// RFC 9051 §7.1 codes without data.
    public static let readOnly = IMAPResponseCode.other("READ-ONLY")
    public static let readWrite = IMAPResponseCode.other("READ-WRITE")
    public static let tryCreate = IMAPResponseCode.other("TRYCREATE")
    public static let nonExistent = IMAPResponseCode.other("NONEXISTENT")
    public static let alreadyExists = IMAPResponseCode.other("ALREADYEXISTS")
    public static let noPermission = IMAPResponseCode.other("NOPERM")
    public static let inUse = IMAPResponseCode.other("INUSE")
    public static let overQuota = IMAPResponseCode.other("OVERQUOTA")
    public static let hasChildren = IMAPResponseCode.other("HASCHILDREN")
    public static let expungeIssued = IMAPResponseCode.other("EXPUNGEISSUED")
    /// RFC 7162 §3.2.11: `CLOSED` ends the previous mailbox's responses.
    public static let closed = IMAPResponseCode.other("CLOSED")
    /// RFC 6154 §3: `USEATTR`.
    public static let useAttribute = IMAPResponseCode.other("USEATTR")
}
