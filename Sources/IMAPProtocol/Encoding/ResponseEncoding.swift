import AerieCore

/// Wire forms of values in server responses (RFC 9051 §4): astrings, mailbox names, flags, sets.
public enum IMAPEncoding {
    /// RFC 9051 §9: `astring`: an atom when every octet is an ASTRING-CHAR, else quoted when short and
    /// free of CR, LF and NUL (8-bit text only when `utf8Allowed`, RFC 9051 `QUOTED-CHAR =/ UTF8-2 …`),
    /// else a literal.
    public static func astring(_ value: String, utf8Allowed: Bool = false) -> String {
        let bytes = Array(value.utf8)
        if !bytes.isEmpty, bytes.allSatisfy(\.isAStringChar) { return value }
        return quotedOrLiteral(value, utf8Allowed: utf8Allowed)
    }

    /// RFC 9051 §9: `string = quoted / literal`, quoting 8-bit text only when `utf8Allowed`.
    public static func quotedOrLiteral(_ value: String, utf8Allowed: Bool) -> String {
        let bytes = Array(value.utf8)
        let quotable = bytes.count <= IMAPString.maximumQuotedLength
            && bytes.allSatisfy { $0 != ASCII.nul && $0 != ASCII.cr && $0 != ASCII.lf && (utf8Allowed || $0 < 0x80) }
        guard quotable else { return IMAPString.quotedOrLiteral(value) }
        var quoted = "\""
        for scalar in value.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { quoted.unicodeScalars.append("\\") }
            quoted.unicodeScalars.append(scalar)
        }
        return quoted + "\""
    }

    /// A mailbox name (Unicode, as stored) for a response: modified UTF-7 for IMAP4rev1 clients, UTF-8
    /// once `UTF8=ACCEPT` / IMAP4rev2 is in effect (RFC 9051 §5.1, RFC 6855 §3); as an atom, quoted or literal.
    public static func mailbox(_ name: String, utf8Enabled: Bool) -> String {
        if MailboxName.isInboxSpelling(Array(name.utf8)) { return "INBOX" }
        return astring(utf8Enabled ? name : ModifiedUTF7.encode(name), utf8Allowed: utf8Enabled)
    }

    /// RFC 9051 §9: `flag-list = "(" [flag *(SP flag)] ")"`.
    public static func flagList(_ flags: [Flag]) -> String {
        Flag.listString(flags)
    }

    /// A sequence set of exactly `numbers`, compact (`1:3,7,9:10`), in the given order: runs of
    /// consecutive ascending numbers become ranges, so COPYUID's source and destination sets stay paired.
    /// (RFC 4315 §3 `uid-set`, RFC 7162 §3.2.10 VANISHED, RFC 4731 ESEARCH ALL.)
    public static func sequenceSet(_ numbers: some Sequence<UInt32>) -> String {
        var out = ""
        var start: UInt32?
        var end: UInt32 = 0
        func flush() {
            guard let first = start else { return }
            if !out.isEmpty { out += "," }
            out += first == end ? String(first) : "\(first):\(end)"
        }
        for n in numbers {
            if start != nil, end != .max, n == end + 1 {
                end = n
            } else {
                flush()
                start = n
                end = n
            }
        }
        flush()
        return out
    }

    /// RFC 9051 §9: `date-time` text (without the quotes), e.g. `07-Feb-1994 21:52:25 -0800`.
    public static func dateTime(secondsSince1970: Int64, zoneOffsetMinutes: Int = 0) -> String {
        let local = secondsSince1970 + Int64(zoneOffsetMinutes) * 60
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let seconds = Int(local - days * 86_400)
        let date = IMAPDate(daysSince1970: days)
        let zone = abs(zoneOffsetMinutes)
        return two(date.day) + "-" + IMAPDate.monthNames[date.month - 1] + "-" + date.fourDigitYear + " "
            + two(seconds / 3600) + ":" + two(seconds / 60 % 60) + ":" + two(seconds % 60) + " "
            + (zoneOffsetMinutes < 0 ? "-" : "+") + two(zone / 60) + two(zone % 60)
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
}

extension IMAPDate {
    /// The day `days` after 1970-01-01 (Howard Hinnant's civil_from_days), clamped to years 1…9999.
    init(daysSince1970 days: Int64) {
        let (year, month, day) = CivilDate.from(daysSince1970: min(max(days, -719_162), 2_932_896))
        self = IMAPDate(year: year, month: month, day: day) ?? IMAPDate(year: 1970, month: 1, day: 1)!
    }
}

extension SequenceSet {
    /// The wire form (`description`): `1:3,5,9:*` or `$`.
    public var encoded: String { description }
}
