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
                + "((NIL NIL \"a\" \"example.com\")) "
                + "((NIL NIL \"first\" \"example.org\")(NIL NIL \"second\" \"example.org\")) "
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
    /// the message is ended only in a top-level HEADER.FIELDS (as Dovecot answers).
    @Test func headerFieldsOfAHeaderWithoutBlankLine() {
        let m = message("From: a@example.com\r\nSubject: s\r\nX-Last: cut")
        #expect(m.section(BodySection(text: .headerFields(["subject"]))) == Array("Subject: s\r\n".utf8))
        #expect(m.section(BodySection(text: .headerFields(["x-last"]))) == Array("X-Last: cut\r\n".utf8))
        #expect(m.section(BodySection(text: .headerFieldsNot(["subject"])))
            == Array("From: a@example.com\r\nX-Last: cut".utf8))
        let withBlank = message("From: a@example.com\r\nSubject: s\r\n\r\n")
        #expect(withBlank.section(BodySection(text: .headerFields(["subject"]))) == Array("Subject: s\r\n\r\n".utf8))
    }

    private func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    /// BINARY of a multipart: copied as it is, except each encoded part: decoded, its CTE field marked binary.
    @Test func binaryOfAMultipartDecodesItsParts() {
        let m = message(
            "Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                + "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\nX-A: 1\r\n\r\n"
                + "caf=C3=A9\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n")
        let inner = message(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n"
                + "Content-Transfer-Encoding: quoted-printable\r\nX-A: 1\r\n\r\ncaf=C3=A9\r\n--b\r\n"
                + "Content-Type: text/plain\r\n\r\nplain\r\n--b--\r\n")
        let expected = "--b\r\nContent-Type: text/plain\r\nX-A: 1\r\nContent-Transfer-Encoding: binary\r\n\r\ncafé"
            + "\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n"
        // BINARY[] is the whole message, header included (RFC 3516 §4.2).
        #expect(text(inner.binaryContent([])?.bytes) == "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + expected)
        #expect(inner.binaryContent([])?.decoded == true)
        #expect(inner.binaryContent([2])?.decoded == false)
        #expect(text(m.binaryContent([1])?.bytes)?.hasSuffix(expected) == true)
        // A part that does not exist is empty, as its BODY[] is; an unknown encoding anywhere in it is nil.
        #expect(inner.binaryContent([7])?.bytes == [])
        let unknown = message("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
            + "Content-Transfer-Encoding: x-uuencode\r\n\r\nx\r\n--b--\r\n")
        #expect(unknown.binaryContent([]) == nil)
        #expect(unknown.binaryContent([1]) == nil)
    }

    /// RFC 2046 §5.1.1: the CRLF before a boundary belongs to it, also when it is the blank line after a header.
    @Test func blankLineRightBeforeABoundary() {
        let m = message("Content-Type: multipart/mixed; boundary=e\r\n\r\n--e\r\nContent-Type: text/plain\r\n\r\n"
            + "--e\r\nContent-Type: text/plain\r\n\r\nx\r\n--e--\r\n")
        #expect(text(m.section(BodySection(part: [1], text: .mime))) == "Content-Type: text/plain\r\n")
        #expect(m.section(BodySection(part: [1])) == [])
        #expect(text(m.section(BodySection(part: [2], text: .mime))) == "Content-Type: text/plain\r\n\r\n")
        // The part's own boundary (longest match) right after its blank line starts its first child.
        let own = message("Content-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\n"
            + "Content-Type: multipart/alternative; boundary=abc\r\n\r\n--abc\r\n\r\none\r\n--ab--\r\n")
        #expect(text(own.section(BodySection(part: [1, 1]))) == "one")
    }

    /// A message/rfc822 part whose message header is cut by the boundary keeps the CRLF before it (Dovecot).
    @Test func rfc822PartCutByABoundary() {
        let m = message("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
            + "X-Only: header\r\n--b--\r\n")
        #expect(text(m.section(BodySection(part: [1]))) == "X-Only: header\r\n")
        #expect(text(m.section(BodySection(part: [1], text: .header))) == "X-Only: header")
    }

    @Test func addressesAsDovecotReadsThem() {
        let m = message("From: a@example.com\r\nTo: \"Name Only\", John Smith\r\nCc: <>, b@example.com\r\n"
            + "Bcc: <@bad x@example.com>, c@example.com\r\nMessage-ID:\r\n <folded@example.com>\r\n"
            + "Subject: folded\r\n  subject\r\n\r\n")
        let env = m.envelope()
        #expect(env.contains("((\"Name Only\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")"
            + "(\"John Smith\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))"))
        #expect(env.contains("((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")(NIL NIL \"b\" \"example.com\"))"))
        #expect(env.contains("(NIL \"INVALID_ROUTE\" \"x\" \"example.com\")(NIL NIL \"c\" \"example.com\")"))
        // A fold keeps its CRLF (so display text goes out as a literal, unfolded) unless the first line was empty.
        #expect(env.contains("{14}\r\nfolded subject"))
        #expect(env.hasSuffix(" \" <folded@example.com>\")"))
    }

    /// 8-bit header text that is not UTF-8 is sent as it is (a literal), as Dovecot does.
    @Test func latin1HeaderBytesStay() {
        let m = ParsedMessage(bytes: Array("To: Fran".utf8) + [0xE7] + Array("ois <f@example.fr>\r\n\r\n".utf8))
        #expect(m.envelopeBytes().contains(0xE7))
    }
}

