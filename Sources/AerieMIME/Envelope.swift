/// The ten ENVELOPE fields of one message header (RFC 9051 §7.5.2 envelope).
struct EnvelopeData: Sendable {
    var date: [UInt8]?
    var subject: [UInt8]?
    var from: [MailAddress]?
    var sender: [MailAddress]?
    var replyTo: [MailAddress]?
    var to: [MailAddress]?
    var cc: [MailAddress]?
    var bcc: [MailAddress]?
    var inReplyTo: [UInt8]?
    var messageID: [UInt8]?

    /// Collects the fields from a header. A repeated address field adds its addresses to the earlier ones, as if
    /// comma-separated in one field (Dovecot does the same, so no MUA shows an address a filter never saw);
    /// a repeated string field replaces the earlier one.
    init(fields: [HeaderField], in b: [UInt8]) {
        for f in fields {
            let name = f.name(in: b)
            guard let first = name.first else { continue }
            switch ASCII.lower(first) {
            case UInt8(ascii: "d") where ASCII.equalsIgnoringCase(name, "Date"): date = f.foldedValue(in: b)
            case UInt8(ascii: "s"):
                if ASCII.equalsIgnoringCase(name, "Subject") { subject = f.foldedValue(in: b) }
                else if ASCII.equalsIgnoringCase(name, "Sender") { Self.merge(&sender, f.foldedValue(in: b)) }
            case UInt8(ascii: "f") where ASCII.equalsIgnoringCase(name, "From"): Self.merge(&from, f.foldedValue(in: b))
            case UInt8(ascii: "r") where ASCII.equalsIgnoringCase(name, "Reply-To"):
                Self.merge(&replyTo, f.foldedValue(in: b))
            case UInt8(ascii: "t") where ASCII.equalsIgnoringCase(name, "To"): Self.merge(&to, f.foldedValue(in: b))
            case UInt8(ascii: "c") where ASCII.equalsIgnoringCase(name, "Cc"): Self.merge(&cc, f.foldedValue(in: b))
            case UInt8(ascii: "b") where ASCII.equalsIgnoringCase(name, "Bcc"): Self.merge(&bcc, f.foldedValue(in: b))
            case UInt8(ascii: "i") where ASCII.equalsIgnoringCase(name, "In-Reply-To"): inReplyTo = f.foldedValue(in: b)
            case UInt8(ascii: "m") where ASCII.equalsIgnoringCase(name, "Message-ID"): messageID = f.foldedValue(in: b)
            default: break
            }
        }
    }

    /// Appends the addresses of one more field with the same name (RFC 5322 §3.6 allows one; real mail has more).
    private static func merge(_ list: inout [MailAddress]?, _ value: [UInt8]) {
        guard let more = AddressParser.parse(value) else { return }
        list = (list ?? []) + more
    }

    /// RFC 9051 §7.5.2: "(" date SP subject SP from SP sender SP reply-to SP to SP cc SP bcc SP in-reply-to SP message-id ")"
    /// without the parentheses; sender and reply-to default to from.
    func write(into out: inout [UInt8]) {
        IMAPQuote.appendNString(&out, date)
        out.append(ASCII.sp)
        if let subject { IMAPQuote.appendForHumans(&out, subject) } else { out += Array("NIL".utf8) }
        for list in [from, sender ?? from, replyTo ?? from, to, cc, bcc] {
            out.append(ASCII.sp)
            Self.writeAddresses(list, into: &out)
        }
        out.append(ASCII.sp)
        IMAPQuote.appendNString(&out, inReplyTo)
        out.append(ASCII.sp)
        IMAPQuote.appendNString(&out, messageID)
    }

    /// RFC 9051 §7.5.2 address: "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"; groups as start/end markers.
    static func writeAddresses(_ list: [MailAddress]?, into out: inout [UInt8]) {
        guard let list else { out += Array("NIL".utf8); return }
        out.append(UInt8(ascii: "("))
        for a in list {
            out.append(UInt8(ascii: "("))
            if let name = a.name { IMAPQuote.appendForHumans(&out, name) } else { out += Array("NIL".utf8) }
            out.append(ASCII.sp)
            IMAPQuote.appendNString(&out, a.route)
            out.append(ASCII.sp)
            IMAPQuote.appendNString(&out, a.mailbox)
            out.append(ASCII.sp)
            IMAPQuote.appendNString(&out, a.domain)
            out.append(UInt8(ascii: ")"))
        }
        out.append(UInt8(ascii: ")"))
    }
}
