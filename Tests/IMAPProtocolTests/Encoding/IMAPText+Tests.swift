import Testing

@testable import IMAPProtocol

@Suite("Response code text")
struct IMAPTextTests {
    /// Clean names and codes come back as they are; only what would break the code is dropped or replaced.
    @Test func atomsAndCodeTextKeepCleanTextAndCleanTheRest() {
        #expect(IMAPText.atom("AUTH=PLAIN") == "AUTH=PLAIN")
        #expect(IMAPText.atom("X(BAD] NAME\r\n") == "XBADNAME")
        #expect(IMAPText.atom("") == "")
        #expect(IMAPText.codeText("UIDNEXT 4") == "UIDNEXT 4")
        #expect(IMAPText.codeText("A]B\rC\nD\0E") == "A B C D E")
        let capability = IMAPResponseCode.capability(["IMAP4rev2", "ID)", "AUTH=PLAIN"]).text
        #expect(capability == "CAPABILITY IMAP4rev2 ID AUTH=PLAIN")
    }
}
