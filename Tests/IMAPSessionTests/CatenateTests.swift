import AerieStorage
import AerieTestSupport
import IMAPProtocol
import Testing

@testable import IMAPSession

/// APPEND with CATENATE (RFC 4469): TEXT and URL parts joined into one message, URLs checked before anything is
/// appended.
@Suite final class CatenateTests {
    let root = makeTempDirectory("catenate")
    deinit { removeTree(root) }

    private func literal(_ text: String) -> String { "{\(text.utf8.count)+}\r\n\(text)" }

    /// INBOX holds message 1 (UID 1): a header and a body.
    private func session(settings: MailSessionSettings = MailSessionSettings()) throws -> MailTranscript {
        let t = try MailTranscript(root: root, settings: settings, rev2: true)
        _ = try t.send("1 APPEND INBOX " + literal("From: a@example.com\r\n\r\nHello body\r\n"))
        _ = try t.send("2 CREATE Box")
        return t
    }

    /// The FETCH response for message 1 of Box, as sent.
    private func body(_ t: MailTranscript) throws -> String {
        _ = try t.send("s SELECT Box")
        _ = try t.send("f FETCH 1 BODY.PEEK[]")
        return t.output.text
    }

    @Test func syntaxErrorsAreBad() throws {
        let t = try session()
        #expect(throws: IMAPParseError(tag: IMAPTag("1"), message: "Missing CATENATE parts")) {
            try t.send("1 APPEND Box CATENATE ()")
        }
    }

    @Test func textAndURLPartsAreJoined() throws {
        let t = try session()
        let uidValidity = try #require(try t.send("v STATUS INBOX (UIDVALIDITY)").first?.split(separator: " ").last)
            .dropLast()
        let out = try t.send(
            "3 APPEND Box (\\Seen) CATENATE (TEXT " + literal("Subject: new\r\n")
                + " URL \"/INBOX;UIDVALIDITY=\(uidValidity)/;UID=1/;SECTION=HEADER\""
                + " URL \"/INBOX/;uid=1/;section=text\""
                + " URL \"imap://demo@localhost/INBOX/;UID=1/;PARTIAL=0.4\")")
        #expect(out.last?.hasPrefix("3 OK [APPENDUID ") == true)
        let joined = "Subject: new\r\nFrom: a@example.com\r\n\r\nHello body\r\nFrom"
        #expect(try body(t) == "* 1 FETCH (BODY[] {\(joined.utf8.count)}\r\n\(joined))\r\nf OK Fetch completed.\r\n")
    }

    /// A bad URL in any message of a MULTIAPPEND appends nothing; a missing target is TRYCREATE before URLs count.
    @Test func badURLsAppendNothing() throws {
        let t = try session()
        for url in [
            "/INBOX;UIDVALIDITY=12345/;UID=1", "/INBOX/;UID=9", "/Nonexistent/;UID=1", "/INBOX/;UID=1/;SECTION=5",
            "imap://other@localhost/INBOX/;UID=1", "INBOX/;UID=1",
        ] {
            let out = try t.send(
                "3 APPEND Box CATENATE (TEXT " + literal("A: b\r\n\r\n") + ") CATENATE (URL \"\(url)\")")
            #expect(out == ["3 NO [BADURL \(url)] Invalid URL."])
        }
        #expect(try t.send("4 STATUS Box (MESSAGES)") == ["* STATUS Box (MESSAGES 0)", "4 OK Status completed."])
        let missing = try t.send("5 APPEND Nope CATENATE (URL \"/INBOX;UIDVALIDITY=1/;UID=1\")")
        #expect(missing == ["5 NO [TRYCREATE] Mailbox doesn't exist."])
    }

    /// RFC 3502 with RFC 4469: plain and catenated messages in one APPEND, each with its own flags.
    @Test func multiappendMixesPlainAndCatenatedMessages() throws {
        let t = try session()
        let out = try t.send(
            "3 APPEND Box CATENATE (URL \"/INBOX/;UID=1\") (\\Answered) " + literal("New: Message\r\n\r\nx"))
        #expect(out.last?.hasPrefix("3 OK [APPENDUID ") == true)
        _ = try t.send("s SELECT Box")
        #expect(
            try t.send("f FETCH 1:2 FLAGS") == [
                "* 1 FETCH (FLAGS ())", "* 2 FETCH (FLAGS (\\Answered))", "f OK Fetch completed.",
            ])
    }

    /// The joined size counts against APPENDLIMIT, though every part alone is below it.
    @Test func theJoinedMessageIsBoundedByTheAppendLimit() throws {
        var settings = MailSessionSettings()
        settings.appendLimit = 60
        let t = try session(settings: settings)
        let out = try t.send("3 APPEND Box CATENATE (URL \"/INBOX/;UID=1\" URL \"/INBOX/;UID=1\")")
        #expect(out == ["3 NO [TOOBIG] Message is larger than APPENDLIMIT 60."])
    }

    /// A TEXT literal big enough for the framer to spool to disk is copied from the spool byte for byte.
    @Test func aSpooledTextPartIsJoined() throws {
        let t = try session()
        let big = "X-Big: " + String(repeating: "0123456789", count: 20) + "\r\n\r\n"
        let input = Array(
            ("3 APPEND Box CATENATE (TEXT {\(big.utf8.count)+}\r\n" + big + " URL \"/INBOX/;UID=1/;SECTION=TEXT\")\r\n")
                .utf8)
        let out = try SpooledAppendTests.run(input, on: t)
        #expect(out.last?.hasPrefix("3 OK [APPENDUID ") == true)
        let joined = big + "Hello body\r\n"
        #expect(try body(t) == "* 1 FETCH (BODY[] {\(joined.utf8.count)}\r\n\(joined))\r\nf OK Fetch completed.\r\n")
    }
}
