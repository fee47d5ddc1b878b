extension IMAPCommandParser {
    /// RFC 2177 §3: `idle = "IDLE" CRLF "DONE"`. True if `unit` (one framed line while idling) is
    /// `DONE`, in any case; anything else ends IDLE with a BAD, as Dovecot does.
    public static func parseIdleDone(_ unit: [UInt8]) -> Bool {
        unit.count == 4 && zip(unit, "DONE".utf8).allSatisfy { $0.asciiUppercased == $1 }
    }
}
