import AerieCore
#if canImport(Glibc)
    import Glibc
#endif

/// The `Received:` trace field LMTP prepends (RFC 5321 §4.4, RFC 5322 §3.6.7), in Dovecot's layout
/// (`smtp_server_transaction_write_trace_record`), with `lmtp_add_received_header = yes`:
///
/// ```
/// Received: from LHLO-NAME ([CLIENT-IP])
/// 	by HOSTNAME with LMTP
/// 	id SESSION-ID
/// 	(envelope-from <SENDER>)
/// 	for <RECIPIENT>; DATE
/// ```
///
/// ` ([ip])` is left out for a unix socket client, `with LMTPS` says TLS. Dovecot writes one header per transaction
/// and so names a recipient only when there is exactly one; Aerie writes each recipient's copy on its own and names
/// that copy's recipient (already in its `Delivered-To`), which tells no recipient about another.
public struct LMTPTrace: Sendable, Equatable, Codable {
    /// The LHLO argument.
    public var heloName: String
    /// The client's address; nil for a unix socket.
    public var remoteIP: String?
    /// `hostname`.
    public var hostname: String
    public var isTLS: Bool
    /// The session ID, as in the delivery's log lines.
    public var id: String

    public init(heloName: String, remoteIP: String?, hostname: String, isTLS: Bool, id: String) {
        self.heloName = heloName
        self.remoteIP = remoteIP
        self.hostname = hostname
        self.isTLS = isTLS
        self.id = id
    }

    /// The header for one stored copy, LF line ends (the stored form) and tab continuations.
    public func header(sender: String, recipient: String, date: String) -> String {
        var text = "Received: from \(Self.clean(heloName))"
        if let remoteIP, !remoteIP.isEmpty { text += " ([\(Self.clean(remoteIP))])" }
        text += "\n\tby \(Self.clean(hostname)) with \(isTLS ? "LMTPS" : "LMTP")"
        text += "\n\tid \(Self.clean(id))"
        text += "\n\t(envelope-from <\(Self.clean(sender))>)"
        text += "\n\tfor <\(Self.clean(recipient))>; \(date)\n"
        return text
    }

    /// Every part comes from the parser or the configuration; this keeps the field intact whatever is passed.
    static func clean(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
    }
}

/// RFC 5322 §3.3 `date-time` as Dovecot's `message_date_create` writes it: `Tue, 07 Jan 2025 09:05:03 +0100`.
public enum RFC5322Date {
    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `seconds` since the epoch shown in a zone `zoneOffset` seconds east of UTC.
    public static func format(secondsSince1970 seconds: Int64, zoneOffset: Int) -> String {
        let local = seconds + Int64(zoneOffset)
        let dayNumber = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let secondOfDay = Int(local - dayNumber * 86_400)
        let (year, month, day) = CivilDate.from(daysSince1970: dayNumber)
        // 1970-01-01 was a Thursday.
        let weekday = Int(((dayNumber % 7) + 11) % 7)
        let zoneMinutes = abs(zoneOffset) / 60
        return "\(days[weekday]), \(two(day)) \(months[month - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) "
            + "\(zoneOffset < 0 ? "-" : "+")\(two(zoneMinutes / 60))\(two(zoneMinutes % 60))"
    }

    /// Now, in the server's local time zone (as Dovecot writes it).
    public static func now() -> String {
        var clock = time(nil)
        var parts = tm()
        localtime_r(&clock, &parts)
        return format(secondsSince1970: Int64(clock), zoneOffset: parts.tm_gmtoff)
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
}
