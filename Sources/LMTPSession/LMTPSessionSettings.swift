/// What an LMTP connection's session needs to know of the configuration; the server maps `AerieSettings` onto it.
public struct LMTPSessionSettings: Sendable {
    /// `hostname`: named in the greeting, the LHLO reply and 421 replies.
    public var hostname: String
    /// Dovecot `quota_mail_size`: the largest message accepted, in octets as received; advertised as RFC 1870
    /// `SIZE n`, checked against MAIL FROM's `SIZE=` and while reading DATA / BDAT. 0: no limit (a bare `SIZE`).
    public var maxMessageSize: Int
    /// Dovecot `recipient_delimiter`: each character may separate the user from the detail.
    public var recipientDelimiter: String
    /// Dovecot `lmtp_save_to_detail_mailbox`: `user+detail` goes to mailbox `detail` when it exists.
    public var saveToDetailMailbox: Bool
    /// Recipients accepted per transaction; more get `452 4.5.3` (RFC 5321 §4.5.3.1.8 asks for at least 100 in SMTP,
    /// but an LMTP client retries the rest in a new transaction).
    public var maxRecipients: Int
    /// RFC 3030 CHUNKING / BDAT.
    public var chunking: Bool
    /// Unknown, malformed and out-of-sequence commands tolerated before `421` and close.
    public var maxBadCommands: Int
    /// Longest command line, terminator excluded.
    public var maxLineLength: Int
    /// Dovecot `lmtp_add_received_header`: prepend a `Received:` trace header to every stored copy.
    public var addReceivedHeader: Bool

    public init(
        hostname: String = "localhost",
        maxMessageSize: Int = 50 * 1024 * 1024,
        recipientDelimiter: String = "+",
        saveToDetailMailbox: Bool = false,
        maxRecipients: Int = 50,
        chunking: Bool = true,
        maxBadCommands: Int = 10,
        maxLineLength: Int = 4096,
        addReceivedHeader: Bool = true
    ) {
        self.hostname = hostname
        self.maxMessageSize = maxMessageSize
        self.recipientDelimiter = recipientDelimiter
        self.saveToDetailMailbox = saveToDetailMailbox
        self.maxRecipients = maxRecipients
        self.chunking = chunking
        self.maxBadCommands = maxBadCommands
        self.maxLineLength = maxLineLength
        self.addReceivedHeader = addReceivedHeader
    }
}
