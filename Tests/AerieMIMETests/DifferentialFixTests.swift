import Testing
@testable import AerieMIME

/// Cases where Aerie's FETCH answers differed from Dovecot 2.3.19's on real-world messages
/// (tests/integration/test_fetch_differential.py finds them; each is pinned here).
@Suite struct DifferentialFixTests {
    private func message(_ text: String) -> ParsedMessage { ParsedMessage(bytes: Array(text.utf8)) }

    @Test func repeatedAddressFieldsAreMergedInEnvelope() {
        let m = message(
            "From: a@example.com\r\nTo: first@example.org\r\nCc: Carol <carol@example.org>, dave@example.org\r\n"
                + "Cc: Erin <erin@example.org>\r\nTo: second@example.org\r\nSubject: one\r\nSubject: two\r\n\r\nx\r\n")
        #expect(
            m.envelope()
                == "(NIL \"two\" ((NIL NIL \"a\" \"example.com\")) ((NIL NIL \"a\" \"example.com\")) "
                + "((NIL NIL \"a\" \"example.com\")) ((NIL NIL \"first\" \"example.org\")(NIL NIL \"second\" \"example.org\")) "
                + "((\"Carol\" NIL \"carol\" \"example.org\")(NIL NIL \"dave\" \"example.org\")"
                + "(\"Erin\" NIL \"erin\" \"example.org\")) NIL NIL NIL)")
    }

    @Test func emptyRepeatedAddressFieldAddsNothing() {
        let m = message("From: a@example.com\r\nCc:\r\nCc: b@example.com\r\nBcc:\r\n\r\n")
        #expect(m.envelope().hasSuffix("((NIL NIL \"b\" \"example.com\")) NIL NIL NIL)"))
    }

    private func params(_ value: String) -> [String] {
        ContentTypeValue.parseContentType(Array(value.utf8)).params.flatMap {
            [String(decoding: $0.name, as: UTF8.self), String(decoding: $0.value, as: UTF8.self)]
        }
    }

    /// RFC 2231 §3/§4: continuations are joined and an extended value is passed through as written.
    @Test func rfc2231ValuesArePassedThrough() {
        #expect(
            params("application/pdf; name*0*=utf-8''Rechnung%20M%C3%A4rz; name*1*=%202024.pdf")
                == ["name*", "utf-8''Rechnung%20M%C3%A4rz%202024.pdf"])
        #expect(params("text/plain; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A; charset=us-ascii")
            == ["charset", "us-ascii", "title*", "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"])
        #expect(params("a/b; name*0=\"long file \"; name*1=\"name.bin\"") == ["name", "long file name.bin"])
    }

    /// A plain first segment joined to extended ones gets an empty charset and language; "%" in plain text is escaped.
    @Test func rfc2231MixedSegments() {
        #expect(params("a/b; f*0=\"long 100% \"; f*1*=%E2%82%AC.bin; f*2=\" tail\"")
            == ["f*", "''long 100%25 %E2%82%AC.bin tail"])
    }

    /// Segments whose numbers are not 0, 1, 2, ... are not joined but reported one by one, as Dovecot does.
    @Test func rfc2231GapsAreNotJoined() {
        #expect(params("a/b; n*0=x; n*2*=y") == ["n*0", "x", "n*2*", "y"])
        #expect(params("a/b; n*1=x") == ["n*1", "x"])
    }

    /// RFC 9051 §6.4.5: no blank line for a message that has no body and no blank line; a line cut off by the end of
    /// the message is returned as it is.
    @Test func headerFieldsOfAHeaderWithoutBlankLine() {
        let m = message("From: a@example.com\r\nSubject: s\r\nX-Last: cut")
        #expect(m.section(BodySection(text: .headerFields(["subject"]))) == Array("Subject: s\r\n".utf8))
        #expect(m.section(BodySection(text: .headerFieldsNot(["subject"])))
            == Array("From: a@example.com\r\nX-Last: cut".utf8))
        let withBlank = message("From: a@example.com\r\nSubject: s\r\n\r\n")
        #expect(withBlank.section(BodySection(text: .headerFields(["subject"]))) == Array("Subject: s\r\n\r\n".utf8))
    }
}
