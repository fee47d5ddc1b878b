/// ESEARCH data of RFC 5267 (CONTEXT=SEARCH).
extension IMAPResponseLine {
    /// RFC 5267 §4.4: `PARTIAL (first:last set)`, `NIL` for no messages in the range.
    static func esearchPartial(_ range: SearchPartialRange, _ numbers: [UInt32]) -> String {
        "PARTIAL (\(range.first):\(range.last) " + (numbers.isEmpty ? "NIL" : IMAPEncoding.sequenceSet(numbers)) + ")"
    }

    /// RFC 5267 §4.2: `ESEARCH (TAG "a") [UID] REMOVEFROM (0 set) ADDTO (0 set)`; the position is 0 because a
    /// SEARCH result is unordered (as Dovecot sends it). An empty set leaves its item out.
    public static func esearchUpdate(tag: String, uid: Bool, removeFrom: [UInt32], addTo: [UInt32]) -> String {
        var line = "ESEARCH (TAG " + IMAPEncoding.quotedOrLiteral(tag, utf8Allowed: false) + ")"
        if uid { line += " UID" }
        if !removeFrom.isEmpty { line += " REMOVEFROM (0 " + IMAPEncoding.sequenceSet(removeFrom) + ")" }
        if !addTo.isEmpty { line += " ADDTO (0 " + IMAPEncoding.sequenceSet(addTo) + ")" }
        return line
    }
}
