import AerieMIME

/// What SORT and THREAD know of one message (RFC 5256): a few small keys read from its header, never its body.
///
/// String keys are stored already folded for comparison (RFC 5256 §2.1 and §3: case-insensitive) and capped, so a
/// mailbox of many messages with huge headers still costs a few hundred bytes per message.
struct SortMessage: Sendable, Equatable {
    var sequence: UInt32
    var uid: UInt32
    /// INTERNALDATE (ARRIVAL).
    var arrival: Int64
    /// RFC822.SIZE (SIZE).
    var size: Int
    /// RFC 5256 §2.2 sent date: the Date header in UTC, else INTERNALDATE.
    var sentDate: Int64
    /// RFC 5256 §2.1 base subject, case-folded UTF-8.
    var subject: [UInt8] = []
    var isReplyOrForward = false
    /// RFC 5256 §3: addr-mailbox of the first From / To / Cc address, ASCII-case-folded ("" when absent).
    var from: [UInt8] = []
    var to: [UInt8] = []
    var cc: [UInt8] = []
    /// RFC 5957 §2: display name of the first From / To address, else its addr-spec; case-folded.
    var displayFrom: [UInt8] = []
    var displayTo: [UInt8] = []
    /// RFC 5256 §4 REFERENCES: interned Message-ID, if valid.
    var messageID: Int32?
    /// RFC 5256 §4 REFERENCES: interned parent chain, oldest first (References, else the first In-Reply-To id).
    var references: [Int32] = []

    init(sequence: UInt32, uid: UInt32, arrival: Int64, size: Int, sentDate: Int64? = nil) {
        self.sequence = sequence
        self.uid = uid
        self.arrival = arrival
        self.size = size
        self.sentDate = sentDate ?? arrival
    }

    /// Most bytes kept of a subject key: longer subjects compare equal once their first kilobyte does.
    static let subjectKeyLimit = 1_000
    /// Most bytes kept of an address or display-name key.
    static let addressKeyLimit = 256
    /// Most References ids considered, the last ones (nearest ancestors): a header with thousands of ids costs no
    /// more than this, and older ancestors are still linked through the intermediate messages' own headers.
    static let referenceLimit = 100
    /// Longer ids are not valid (RFC 5322 §2.1.1 line length).
    static let messageIDLengthLimit = 998

    /// The keys `fields` asks for, from a header block (nil when the message could not be read).
    init(
        sequence: UInt32, uid: UInt32, arrival: Int64, size: Int, header: [UInt8]?, fields: SortFields,
        ids: inout MessageIDTable
    ) {
        self.init(sequence: sequence, uid: uid, arrival: arrival, size: size)
        guard let header, !fields.isEmpty else { return }
        let message = ParsedMessage(bytes: header)
        if fields.contains(.sentDate), let date = message.date { sentDate = date }
        if fields.contains(.subject) {
            let base = message.baseSubject()
            subject = Self.unicodeKey(base.text, limit: Self.subjectKeyLimit)
            isReplyOrForward = base.isReplyOrForward
        }
        if fields.contains(.from) { from = Self.mailboxKey(message.firstAddress("From")) }
        if fields.contains(.to) { to = Self.mailboxKey(message.firstAddress("To")) }
        if fields.contains(.cc) { cc = Self.mailboxKey(message.firstAddress("Cc")) }
        if fields.contains(.displayFrom) { displayFrom = Self.displayKey(message.firstAddress("From")) }
        if fields.contains(.displayTo) { displayTo = Self.displayKey(message.firstAddress("To")) }
        if fields.contains(.references) {
            if let own = message.headerValue("Message-ID").first,
                let id = Self.messageIDs(in: Array(own.utf8), last: 1, first: true).first
            {
                messageID = ids.intern(id)
            }
            var chain = message.headerValue("References").first.map {
                Self.messageIDs(in: Array($0.utf8), last: Self.referenceLimit, first: false)
            }
            if chain?.isEmpty ?? true {
                // RFC 5256 §4 (1)(A): without usable References, the first In-Reply-To id is the only parent.
                chain = message.headerValue("In-Reply-To").first.map {
                    Self.messageIDs(in: Array($0.utf8), last: 1, first: true)
                }
            }
            references = (chain ?? []).map { ids.intern($0) }
        }
    }

    /// i;ascii-casemap (RFC 4790 §9.2): ASCII letters folded, other bytes compared as they are.
    static func mailboxKey(_ address: SortAddress?) -> [UInt8] {
        guard let address else { return [] }
        return Array(address.mailbox.utf8.prefix(addressKeyLimit).map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 })
    }

    /// RFC 5957 §2: the display name when present and not empty, else addr-mailbox "@" addr-host (a group's name
    /// alone, as Dovecot).
    static func displayKey(_ address: SortAddress?) -> [UInt8] {
        guard let address else { return [] }
        let name = address.displayName.map { String($0.drop { $0 == " " || $0 == "\t" }) } ?? ""
        let spec = address.host.map { address.mailbox + "@" + $0 } ?? address.mailbox
        return unicodeKey(name.isEmpty ? spec : name, limit: addressKeyLimit)
    }

    /// Case-insensitive key for text that may be non-ASCII (a simple Unicode case fold, not full i;unicode-casemap).
    static func unicodeKey(_ text: String, limit: Int) -> [UInt8] {
        Array(text.uppercased().utf8.prefix(limit))
    }

    /// The `<…>` message ids of a header value, in order: the first `last` of them when `first`, else the last `last`.
    /// Whitespace inside brackets (left by folding) is dropped; an empty or overlong id is not valid.
    static func messageIDs(in value: [UInt8], last limit: Int, first: Bool) -> [String] {
        var ranges: [Range<Int>] = []
        var i = 0
        while i < value.count {
            guard value[i] == UInt8(ascii: "<") else {
                i += 1
                continue
            }
            var j = i + 1
            while j < value.count, value[j] != UInt8(ascii: ">"), value[j] != UInt8(ascii: "<") { j += 1 }
            guard j < value.count, value[j] == UInt8(ascii: ">") else {
                i = j
                continue
            }
            if j - i - 1 > 0, j - i - 1 <= messageIDLengthLimit { ranges.append(i + 1..<j) }
            i = j + 1
            if first && ranges.count >= limit { break }
        }
        let chosen = first ? Array(ranges.prefix(limit)) : Array(ranges.suffix(limit))
        return chosen.compactMap { range in
            let id = value[range].filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
            return id.isEmpty ? nil : String(decoding: id, as: UTF8.self)
        }
    }
}

/// Which header-derived keys a SORT or THREAD needs; ARRIVAL and SIZE need none, so no file is read for them.
struct SortFields: OptionSet, Sendable {
    let rawValue: Int
    static let sentDate = SortFields(rawValue: 1 << 0)
    static let subject = SortFields(rawValue: 1 << 1)
    static let from = SortFields(rawValue: 1 << 2)
    static let to = SortFields(rawValue: 1 << 3)
    static let cc = SortFields(rawValue: 1 << 4)
    static let displayFrom = SortFields(rawValue: 1 << 5)
    static let displayTo = SortFields(rawValue: 1 << 6)
    static let references = SortFields(rawValue: 1 << 7)
}

/// Message ids of one SORT/THREAD run, each kept once: a thread's messages repeat the same ancestors' ids.
/// Comparison is exact (RFC 5256 §4: Message ID comparisons are case-sensitive).
struct MessageIDTable: Sendable {
    private var numbers: [String: Int32] = [:]

    var count: Int { numbers.count }

    mutating func intern(_ id: String) -> Int32 {
        if let number = numbers[id] { return number }
        let number = Int32(numbers.count)
        numbers[id] = number
        return number
    }
}
