import Testing

@testable import IMAPProtocol

@Suite("Mailbox names")
struct MailboxNameTests {
    /// Text, and its modified UTF-7 form (RFC 3501 §5.1.3 examples and Dovecot's test vectors).
    static let utf7: [(String, String)] = [
        ("INBOX", "INBOX"),
        ("&", "&-"),
        ("a&b", "a&-b"),
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
        ("😀 smile", "&2D3eAA- smile"),
        ("ä&ö", "&AOQ-&-&APY-"),
    ]

    @Test(arguments: utf7)
    func modifiedUTF7(_ text: String, _ encoded: String) {
        #expect(ModifiedUTF7.encode(text) == encoded)
        #expect(ModifiedUTF7.decode(Array(encoded.utf8)) == text)
        #expect(MailboxName(bytes: Array(encoded.utf8)).decoded(utf8Enabled: false) == text)
    }

    static let invalidUTF7: [String] = [
        "&", "&U,BTFw", "&AGE-", "&U,BTF-", "&Jjo!", "\u{7F}", "a\tb", "Entwürfe", "&2D0-", "&3gA-",
    ]

    @Test(arguments: invalidUTF7)
    func refusesInvalidUTF7(_ encoded: String) {
        #expect(ModifiedUTF7.decode(Array(encoded.utf8)) == nil)
    }

    @Test func utf8Mode() {
        let name = MailboxName("Entwürfe")
        #expect(name.decoded(utf8Enabled: true) == "Entwürfe")
        #expect(name.decoded(utf8Enabled: false) == nil)
        #expect(MailboxName(bytes: [0xFF]).decoded(utf8Enabled: true) == nil)
    }

    @Test func inboxIsCaseInsensitive() {
        #expect(MailboxName("inbox") == .inbox)
        #expect(MailboxName("iNbOx").isInbox)
        #expect(!MailboxName("INBOX.Sent").isInbox)
        #expect(MailboxName("inbox.sent").description == "inbox.sent")
    }

    @Test func responseEncoding() {
        #expect(IMAPEncoding.mailbox("INBOX", utf8Enabled: false) == "INBOX")
        #expect(IMAPEncoding.mailbox("inbox", utf8Enabled: true) == "INBOX")
        #expect(IMAPEncoding.mailbox("Sent", utf8Enabled: false) == "Sent")
        #expect(IMAPEncoding.mailbox("Sent Items", utf8Enabled: false) == "\"Sent Items\"")
        #expect(IMAPEncoding.mailbox("Entwürfe", utf8Enabled: false) == "Entw&APw-rfe")
        #expect(IMAPEncoding.mailbox("Entwürfe", utf8Enabled: true) == "\"Entwürfe\"")
        #expect(IMAPEncoding.mailbox("a\"b\\c", utf8Enabled: false) == "\"a\\\"b\\\\c\"")
        #expect(IMAPEncoding.mailbox("", utf8Enabled: false) == "\"\"")
        #expect(IMAPEncoding.mailbox("50%", utf8Enabled: false) == "\"50%\"")
        #expect(IMAPEncoding.mailbox("a\nb", utf8Enabled: true) == "{3}\r\na\nb")
    }

    /// Encode for the wire, parse back as a command argument, decode: the same name.
    @Test(arguments: ["INBOX", "Sent Items", "Entwürfe", "台北", "a&b", "x\"y", "%*", "😀"])
    func roundTrip(_ name: String) throws {
        for utf8 in [false, true] {
            let command = try parse("a SELECT " + IMAPEncoding.mailbox(name, utf8Enabled: utf8))
            guard case .select(let mailbox, _) = command.kind else {
                Issue.record("not SELECT")
                return
            }
            #expect(mailbox.decoded(utf8Enabled: utf8) == name)
        }
    }
}
