/// An IMAP URL naming a message or a part of one (RFC 5092 `imessagepart`), as CATENATE (RFC 4469 §5) takes it:
/// absolute (`imap://user@host/INBOX/;UID=5`) or relative to this server (`/INBOX;UIDVALIDITY=9/;UID=5/;SECTION=1`).
public struct IMAPURL: Sendable, Hashable {
    /// The user of an absolute URL's `iuserinfo` (percent-decoded), nil when the URL names none.
    public var user: String?
    /// The mailbox name, percent-decoded (RFC 5092 §3.3: UTF-8).
    public var mailbox: String
    public var uidValidity: UInt32?
    public var uid: UInt32
    /// The `;SECTION=` part as a FETCH section (nil: the whole message).
    public var section: FetchSection?
    /// `;PARTIAL=offset[.length]`.
    public var partialOffset: UInt64?
    public var partialLength: UInt64?

    /// Longest URL taken (RFC 5092 sets none; Dovecot's mailbox name limit is far below it).
    public static let maximumLength = 8192

    public init(
        user: String? = nil, mailbox: String, uidValidity: UInt32? = nil, uid: UInt32, section: FetchSection? = nil,
        partialOffset: UInt64? = nil, partialLength: UInt64? = nil
    ) {
        self.user = user
        self.mailbox = mailbox
        self.uidValidity = uidValidity
        self.uid = uid
        self.section = section
        self.partialOffset = partialOffset
        self.partialLength = partialLength
    }

    /// RFC 5092 §11: `imapurl = "imap://" iserver ipath-query`, `iserver = [iuserinfo "@"] host [":" port]`,
    /// `imessagepart = icommand-mbox [uidvalidity] iuid [isection] [ipartial]` with `uidvalidity = ";UIDVALIDITY="
    /// nz-number`, `iuid = "/;UID=" nz-number`, `isection = "/;SECTION=" enc-section`,
    /// `ipartial = "/;PARTIAL=" number ["." nz-number]`; a relative URL is the `ipath` starting with `/`.
    /// Nil for anything else, including `;URLAUTH=` (URLAUTH is not offered).
    public static func parse(_ text: String) -> IMAPURL? {
        guard text.utf8.count <= maximumLength, !text.isEmpty else { return nil }
        var path = Substring(text)
        var user: String?
        if path.lowercased().hasPrefix("imap://") {
            path = path.dropFirst("imap://".count)
            guard let slash = path.firstIndex(of: "/") else { return nil }
            let server = path[..<slash]
            path = path[slash...]
            if let at = server.lastIndex(of: "@") {
                let info = server[..<at]
                // `iuserinfo = enc-user [iauth] / [enc-user] iauth`, `iauth = ";AUTH=" ( "*" / enc-auth-type )`.
                let name = info.firstIndex(of: ";").map { info[..<$0] } ?? info
                guard let decoded = percentDecoded(name), let string = decoded.validUTF8String, !string.isEmpty else {
                    return nil
                }
                user = string
            }
        }
        guard path.first == "/" else { return nil }
        path = path.dropFirst()
        guard let semicolon = path.firstIndex(of: ";") else { return nil }
        var encodedMailbox = path[..<semicolon]
        var parameters = path[semicolon...].split(separator: "/", omittingEmptySubsequences: false)
        let uidValidityFirst = parameters.first?.lowercased().hasPrefix(";uidvalidity=") == true
        if encodedMailbox.last == "/" {
            guard !uidValidityFirst else { return nil }
            encodedMailbox = encodedMailbox.dropLast()
        } else {
            // Only UIDVALIDITY follows the mailbox without a `/`.
            guard uidValidityFirst else { return nil }
        }
        guard !encodedMailbox.isEmpty, let mailboxBytes = percentDecoded(encodedMailbox),
            let mailbox = mailboxBytes.validUTF8String
        else { return nil }
        var url = IMAPURL(user: user, mailbox: mailbox, uid: 0)
        if let first = parameters.first, let value = value(of: first, "UIDVALIDITY") {
            guard let number = number(value).flatMap(UInt32.init(exactly:)), number > 0 else { return nil }
            url.uidValidity = number
            parameters.removeFirst()
        }
        guard let first = parameters.first, let uidText = value(of: first, "UID"),
            let uid = number(uidText).flatMap(UInt32.init(exactly:)), uid > 0
        else { return nil }
        url.uid = uid
        parameters.removeFirst()
        if let first = parameters.first, let value = value(of: first, "SECTION") {
            guard let decoded = percentDecoded(value) else { return nil }
            var cursor = ByteCursor([0x5B] + decoded + [ASCII.closeBracket])
            guard let section = try? cursor.parseSection(), cursor.isAtEnd else { return nil }
            url.section = section
            parameters.removeFirst()
        }
        if let first = parameters.first, let value = value(of: first, "PARTIAL") {
            let pieces = value.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard let offset = number(pieces[0]) else { return nil }
            url.partialOffset = offset
            if pieces.count == 2 {
                guard let length = number(pieces[1]), length > 0 else { return nil }
                url.partialLength = length
            }
            parameters.removeFirst()
        }
        return parameters.isEmpty ? url : nil
    }

    /// The value of `;NAME=value` (name case-insensitive), nil when the parameter is another one.
    private static func value(of parameter: Substring, _ name: String) -> Substring? {
        let prefix = ";" + name + "="
        guard parameter.count > prefix.count, parameter.uppercased().hasPrefix(prefix) else { return nil }
        return parameter.dropFirst(prefix.count)
    }

    /// `1*DIGIT` up to 2^63-1.
    private static func number(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let value = UInt64(text), value <= UInt64(Int64.max)
        else { return nil }
        return value
    }

    /// RFC 3986 §2.1 percent-decoding; nil for a broken escape.
    static func percentDecoded(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            guard byte == 0x25 else {
                out.append(byte)
                continue
            }
            guard bytes.count >= 2, let value = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16)
            else { return nil }
            bytes = bytes.dropFirst(2)
            out.append(value)
        }
        return out
    }
}
