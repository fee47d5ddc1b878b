import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("APPEND CATENATE and IMAP URLs")
struct CatenateTests {
    static func catenated(_ parts: [CatenatePart], flags: [Flag] = []) -> AppendMessage {
        var message = AppendMessage(flags: flags, data: [])
        message.catenate = parts
        return message
    }

    static func text(_ s: String, at offset: Int) -> CatenatePart {
        .text(data: bytes(s), literalOffset: offset, isBinary: false)
    }

    static let successes: [(String, IMAPCommandKind)] = [
        (
            "a APPEND INBOX CATENATE (TEXT {2}\r\nhi)",
            .append(mailbox: .inbox, messages: [catenated([text("hi", at: 35)])])
        ),
        (
            "a APPEND INBOX (\\Seen) catenate (url \"/INBOX/;uid=5\" text {1+}\r\nx URL /INBOX/;UID=6)",
            .append(
                mailbox: .inbox,
                messages: [
                    catenated([.url("/INBOX/;uid=5"), text("x", at: 64), .url("/INBOX/;UID=6")], flags: [.seen])
                ])
        ),
        // RFC 3502 MULTIAPPEND: CATENATE and plain literals mixed.
        (
            "a APPEND INBOX CATENATE (URL \"/INBOX/;UID=1\") (\\Answered) {1}\r\nx",
            .append(
                mailbox: .inbox,
                messages: [catenated([.url("/INBOX/;UID=1")]), AppendMessage(flags: [.answered], data: bytes("x"))])
        ),
        (
            "a APPEND INBOX CATENATE (TEXT ~{1}\r\n\0)",
            .append(
                mailbox: .inbox, messages: [catenated([.text(data: [0], literalOffset: 36, isBinary: true)])])
        ),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ kind: IMAPCommandKind) throws {
        #expect(try parse(input).kind == kind)
    }

    static let failures: [(String, String)] = [
        ("a APPEND INBOX CATENATE", "Expected message literal"),
        ("a APPEND INBOX CATENATE ()", "Missing CATENATE parts"),
        ("a APPEND INBOX CATENATE (FOO x)", "Invalid CATENATE part"),
        ("a APPEND INBOX CATENATE (TEXT \"x\")", "Expected message literal"),
        ("a APPEND INBOX CATENATE (URL)", "Invalid CATENATE part"),
        ("a APPEND INBOX CATENATE (URL \"/INBOX/;UID=1\"", "Missing ')'"),
        ("a APPEND INBOX CATENATE (URL \"/INBOX/;UID=1\") ", "Missing message literal"),
        ("a APPEND INBOX CATENATE (URL \"/INBOX/;UID=1\")x", "Expected space"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input)?.message == message)
    }

    @Test func partsAreBounded() {
        let many = Array(repeating: "URL x", count: CatenatePart.maximumCount + 1).joined(separator: " ")
        #expect(parseError("a APPEND INBOX CATENATE (\(many))")?.message == "Too many CATENATE parts")
    }

    /// RFC 5092 message and part URLs, absolute and relative.
    @Test func urlsParse() {
        #expect(IMAPURL.parse("/INBOX/;UID=5") == IMAPURL(mailbox: "INBOX", uid: 5))
        #expect(
            IMAPURL.parse("/a%20b/c;uidvalidity=7/;uid=5/;section=1.HEADER.FIELDS%20(From)/;partial=10.20")
                == IMAPURL(
                    mailbox: "a b/c", uidValidity: 7, uid: 5,
                    section: FetchSection(part: [1], text: .headerFields(["From"])), partialOffset: 10,
                    partialLength: 20))
        #expect(
            IMAPURL.parse("/INBOX/;UID=5/;PARTIAL=100000") == IMAPURL(mailbox: "INBOX", uid: 5, partialOffset: 100_000))
        #expect(
            IMAPURL.parse("imap://fred;AUTH=*@example.com:143/INBOX/;UID=2/;SECTION=TEXT")
                == IMAPURL(user: "fred", mailbox: "INBOX", uid: 2, section: FetchSection(part: [], text: .text)))
        for bad in [
            "", "INBOX/;UID=5", "/INBOX", "/INBOX/;UID=0", "/INBOX/;UID=+5", "/INBOX/;UID=4294967296", "/INBOX;UID=5",
            "/;UID=5", "/INBOX/;UIDVALIDITY=1/;UID=5", "/INBOX/;UID=5/;SECTION=FOO", "/INBOX/;UID=5/;PARTIAL=1.0",
            "/INBOX/;UID=5/;URLAUTH=anonymous", "/INBOX/;UID=5/;SECTION=1/;UID=6", "/IN%2/;UID=5", "imap://host",
            "http://host/INBOX/;UID=5",
        ] {
            #expect(IMAPURL.parse(bad) == nil, "\(bad)")
        }
    }
}
