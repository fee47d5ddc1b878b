import Testing

@testable import AerieMIME

/// RFC 5256 §2.1 base subject extraction and the header fields SORT reads.
@Suite struct BaseSubjectTests {
    private func base(_ subject: String) -> BaseSubject { SortKeys.extractBaseSubject(Array(subject.utf8)) }

    @Test func leadersTrailersAndWrappersGo() {
        #expect(base("Re: Fwd: [list] Hello  world (fwd)") == BaseSubject(text: "Hello world", isReplyOrForward: true))
        #expect(base("[Fwd: Re: something]") == BaseSubject(text: "something", isReplyOrForward: true))
        #expect(base("RE [x]: FW: test") == BaseSubject(text: "test", isReplyOrForward: true))
        #expect(base("[a] [b] Re: x") == BaseSubject(text: "x", isReplyOrForward: true))
        #expect(base("Fwd: Re: Re: hello (fwd) (fwd)").text == "hello")
        #expect(base("[fwd: [fwd: nested]]") == BaseSubject(text: "nested", isReplyOrForward: true))
        #expect(base("  Re :  spaced\t\tout  ").text == "spaced out")
        #expect(base("re:fw:fwd:x").text == "x")
    }

    @Test func aBlobStaysWhenNothingWouldBeLeft() {
        #expect(base("[only blob]") == BaseSubject(text: "[only blob]", isReplyOrForward: false))
        #expect(base("Re: [PATCH]") == BaseSubject(text: "[PATCH]", isReplyOrForward: true))
        #expect(base("[list] hello").text == "hello")
        #expect(base("[list] hello").isReplyOrForward == false)
    }

    @Test func wordsThatOnlyLookLikeLeadersStay() {
        #expect(base("Reply: foo") == BaseSubject(text: "Reply: foo", isReplyOrForward: false))
        #expect(base("fwd foo").text == "fwd foo")
        #expect(base("Fwdx: foo").text == "Fwdx: foo")
        #expect(base("foo (fwd) bar").text == "foo (fwd) bar")
        #expect(base("[fwd: unclosed").text == "[fwd: unclosed")
    }

    @Test func emptyResults() {
        #expect(base("") == BaseSubject(text: "", isReplyOrForward: false))
        #expect(base("Re: Re: Re:").text == "")
        #expect(base("(fwd)") == BaseSubject(text: "", isReplyOrForward: true))
    }

    @Test func encodedWordsAreDecodedFirst() {
        #expect(base("=?UTF-8?Q?Re=3A_caf=C3=A9?=") == BaseSubject(text: "café", isReplyOrForward: true))
        #expect(base("=?ISO-8859-1?Q?Re:_=E9t=E9?=").text == "été")
        #expect(base("Re: =?UTF-8?B?w6ljcmFu?= (fwd)").text == "écran")
        #expect(SortKeys.baseSubject("Re: hi") == "hi")
    }

    @Test func foldedSubjectsCollapse() {
        let message = ParsedMessage(bytes: Array("Subject: Re: long\r\n\t subject\r\n\r\nbody".utf8))
        #expect(message.baseSubject() == BaseSubject(text: "long subject", isReplyOrForward: true))
        #expect(ParsedMessage(bytes: Array("From: a@b\r\n\r\n".utf8)).baseSubject().text == "")
    }

    @Test func aHugeSubjectIsStripped() {
        let subject = String(repeating: "Re: ", count: 100_000) + "x" + String(repeating: " (fwd)", count: 50_000)
        #expect(base(subject).text == "x")
    }

    @Test func firstAddresses() {
        let message = ParsedMessage(
            bytes: Array(
                ("From: =?UTF-8?Q?=C3=89mile?= <Emile@Example.COM>, other@x\r\n"
                    + "To: undisclosed-recipients:;\r\nCc: team: Ann <ann@x>;, bob@y\r\nCc: later@z\r\n\r\n").utf8))
        #expect(
            message.firstAddress("From") == SortAddress(displayName: "Émile", mailbox: "Emile", host: "Example.COM"))
        // A group's start is the first address (RFC 9051 §7.5.2: addr-mailbox holds the group name), as in Dovecot.
        #expect(
            message.firstAddress("To")
                == SortAddress(displayName: nil, mailbox: "undisclosed-recipients", host: nil))
        #expect(message.firstAddress("Cc") == SortAddress(displayName: nil, mailbox: "team", host: nil))
        #expect(message.firstAddress("Bcc") == nil)
    }
}
