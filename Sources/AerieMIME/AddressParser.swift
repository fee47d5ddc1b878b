/// One entry of an RFC 9051 §7.5.2 address list: a mailbox, or a group start (mailbox = group name, domain nil)
/// or a group end (everything nil).
struct MailAddress: Sendable, Equatable {
    var name: [UInt8]?
    var route: [UInt8]?
    var mailbox: [UInt8]?
    var domain: [UInt8]?
}

/// RFC 5322 §3.4 address-list parser with Dovecot's recovery rules (message-address.c): missing parts are
/// filled with MISSING_MAILBOX / MISSING_DOMAIN, a broken angle-addr gets domain SYNTAX_ERROR.
struct AddressParser {
    private var lx: RFC822Lexer
    private var addresses: [MailAddress] = []
    private var addr = MailAddress()
    private let maxAddresses: Int

    private init(_ value: [UInt8], maxAddresses: Int) {
        lx = RFC822Lexer(value)
        self.maxAddresses = maxAddresses
    }

    /// Parses a header value; nil when it holds no addresses at all.
    static func parse(_ value: [UInt8], maxAddresses: Int = 10_000) -> [MailAddress]? {
        var p = AddressParser(value, maxAddresses: maxAddresses)
        if p.lx.skipLWSP() <= 0 { return nil }
        p.parseAddressList()
        return p.addresses.isEmpty ? nil : p.addresses
    }

    private mutating func add() {
        addresses.append(addr)
        addr = MailAddress()
    }

    private mutating func addFixed() {
        if addr.mailbox == nil { addr.mailbox = Array("MISSING_MAILBOX".utf8) }
        if addr.domain == nil { addr.domain = Array("MISSING_DOMAIN".utf8) }
        add()
    }

    private mutating func parseLocalPart() -> Int {
        var s = [UInt8]()
        let r = lx.current == ASCII.dquote ? lx.parseQuotedString(into: &s) : lx.parseDotAtom(into: &s)
        if r < 0 { return -1 }
        addr.mailbox = s
        return r
    }

    private mutating func parseDomainPart() -> Int {
        var s = [UInt8]()
        let r = lx.parseDomain(into: &s)
        if r < 0 { return -1 }
        addr.domain = s
        return r
    }

    /// RFC 5322 §4.4 obs-domain-list.
    private mutating func parseDomainList() -> Int {
        var s = [UInt8]()
        while true {
            if lx.atEnd { return 0 }
            if lx.current != UInt8(ascii: "@") { break }
            if !s.isEmpty { s.append(UInt8(ascii: ",")) }
            s.append(UInt8(ascii: "@"))
            let r = lx.parseDomain(into: &s)
            if r <= 0 { return r }
            while lx.skipLWSP() > 0 && lx.current == UInt8(ascii: ",") { lx.pos += 1 }
        }
        addr.route = s
        return 1
    }

    private mutating func parseAngleAddr() -> Int {
        lx.pos += 1
        var r = lx.skipLWSP()
        if r <= 0 { return -1 }
        if lx.current == UInt8(ascii: "@") {
            if parseDomainList() > 0 && lx.current == UInt8(ascii: ":") {
                lx.pos += 1
            } else {
                addr.route = Array("INVALID_ROUTE".utf8)
                if lx.atEnd { return -1 }
                // Dovecot goes on with the rest of the address.
            }
            r = lx.skipLWSP()
            if r <= 0 { return -1 }
        }
        // "<>" holds no address; the mailbox and domain are filled in as missing (Dovecot's message-address.c).
        if lx.current != UInt8(ascii: ">") {
            r = parseLocalPart()
            if r <= 0 { return -1 }
            if lx.current == UInt8(ascii: "@") {
                r = parseDomainPart()
                if r <= 0 { return -1 }
            }
        }
        if lx.current != UInt8(ascii: ">") { return -1 }
        lx.pos += 1
        return lx.skipLWSP()
    }

    private mutating func parseNameAddr() -> Int {
        var s = [UInt8]()
        if lx.parsePhrase(into: &s) <= 0 || lx.current != UInt8(ascii: "<") { return -1 }
        addr.name = s.isEmpty ? nil : s
        if parseAngleAddr() < 0 { addr.domain = Array("SYNTAX_ERROR".utf8) }
        return lx.atEnd ? 0 : 1
    }

    private mutating func parseAddrSpec() -> Int {
        lx.lastComment.removeAll()
        let quoted = lx.current == ASCII.dquote
        var r = parseLocalPart()
        var sawDomain = false
        if r != 0 && lx.current == UInt8(ascii: "@") {
            sawDomain = true
            let r2 = parseDomainPart()
            if r2 <= 0 { r = r2 }
        }
        if !lx.lastComment.isEmpty {
            addr.name = lx.lastComment
        } else if !sawDomain {
            // No "@domain": a lone word is a mailbox, but words after it make it all a display name, and a lone
            // quoted string is a display name too (Dovecot's message-address.c, for "To: John Smith").
            var phrase = (addr.mailbox ?? []) + [ASCII.sp]
            let before = phrase.count
            _ = lx.parsePhrase(into: &phrase)
            if phrase.count != before {
                addr.mailbox = nil
                addr.name = phrase
            } else if quoted, addr.mailbox != nil {
                addr.name = addr.mailbox
                addr.mailbox = nil
            }
            r = -1
        }
        return r
    }

    private mutating func parseMailbox() -> Int {
        let start = lx.pos
        let saved = addr
        var r = parseNameAddr()
        if r < 0 {
            lx.pos = start
            addr = saved
            r = parseAddrSpec()
        }
        addFixed()
        return r
    }

    private mutating func parseGroup() -> Int {
        var s = [UInt8]()
        if lx.parsePhrase(into: &s) <= 0 || lx.current != UInt8(ascii: ":") { return -1 }
        lx.pos += 1
        var r = lx.skipLWSP()
        addr.mailbox = s
        add()
        if r > 0 && lx.current != UInt8(ascii: ";") {
            while addresses.count < maxAddresses {
                if parseMailbox() <= 0 { r = -1; break }
                if lx.current != UInt8(ascii: ",") { break }
                lx.pos += 1
                if lx.skipLWSP() <= 0 { r = -1; break }
            }
        }
        if r >= 0 {
            if lx.current != UInt8(ascii: ";") {
                r = -1
            } else {
                lx.pos += 1
                r = lx.skipLWSP()
            }
        }
        add()
        return r == 0 ? 0 : 1
    }

    private mutating func parseAddress() -> Int {
        let start = lx.pos
        let r = parseGroup()
        if r >= 0 { return r }
        lx.pos = start
        addr = MailAddress()
        return parseMailbox()
    }

    private mutating func parseAddressList() {
        var budget = maxAddresses
        while budget > 0 && addresses.count < maxAddresses {
            budget -= 1
            if parseAddress() == 0 { break }
            if lx.current != UInt8(ascii: ",") || lx.atEnd { break }
            lx.pos += 1
            let r = lx.skipLWSP()
            if r <= 0 {
                if r < 0 { addFixed() }
                break
            }
        }
    }
}
