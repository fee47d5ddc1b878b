import AerieConfig
import AerieStorage
import Testing

@testable import AerieServer

/// The hierarchy separator IMAP clients see, chosen as Dovecot chooses it.
@Suite struct MailAccessSeparatorTests {
    func separator(_ text: String) throws -> Character {
        let settings = try ConfigLoader.load(text: text, path: "/nonexistent/aerie-test.conf").settings
        let layout: MailboxLayout = settings.mailboxListLayout.lowercased() == "fs" ? .fs : .maildirPlusPlus
        return MailAccess.separator(settings: settings, layout: layout)
    }

    @Test func unsetFollowsTheLayout() throws {
        #expect(try separator("mail_driver = maildir\nmail_path = ~/Maildir\n") == ".")
        #expect(
            try separator("mail_driver = maildir\nmail_path = ~/Maildir\nnamespace inbox {\n  inbox = yes\n}\n") == ".")
        #expect(try separator("mail_driver = maildir\nmail_path = ~/Maildir\nmailbox_list_layout = fs\n") == "/")
    }

    @Test func configuredWins() throws {
        #expect(try separator("namespace inbox {\n  inbox = yes\n  separator = /\n}\n") == "/")
        #expect(
            try separator("mailbox_list_layout = fs\nnamespace inbox {\n  inbox = yes\n  separator = .\n}\n") == ".")
        #expect(
            try separator(
                "namespace other {\n  separator = -\n}\nnamespace inbox {\n  inbox = yes\n  separator = /\n}\n") == "/")
    }
}

/// RFC 7889 APPENDLIMIT follows quota_mail_size, as LMTP's SIZE does.
@Suite struct AppendLimitTests {
    func limit(_ text: String) throws -> Int {
        MailAccess.appendLimit(settings: try ConfigLoader.load(text: text, path: "/nonexistent/aerie-test.conf").settings)
    }

    @Test func followsQuotaMailSize() throws {
        #expect(try limit("") == 50 * 1024 * 1024)
        #expect(try limit("quota_mail_size = 10M\n") == 10 * 1024 * 1024)
        #expect(try limit("quota_mail_size = 0\n") == MailAccess.maxAppendLiteral)
        #expect(try limit("quota_mail_size = unlimited\n") == MailAccess.maxAppendLiteral)
        #expect(try limit("quota_mail_size = 1G\n") == MailAccess.maxAppendLiteral)
    }
}
