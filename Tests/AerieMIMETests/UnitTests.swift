import Testing
@testable import AerieMIME

@Suite struct HeaderAndDecodingTests {
    @Test func lfAndCRLFGiveTheSameResult() {
        let lf = Array("Subject: x\nFrom: a@b.c\n\nbody\n".utf8)
        let crlf = Array("Subject: x\r\nFrom: a@b.c\r\n\r\nbody\r\n".utf8)
        let a = ParsedMessage(bytes: lf), b = ParsedMessage(bytes: crlf)
        #expect(a.crlfBytes == b.crlfBytes)
        #expect(a.envelope() == b.envelope())
        #expect(a.bodyStructure(extended: true) == b.bodyStructure(extended: true))
    }

    @Test func headerValuesAreUnfoldedAndAllOccurrencesReturned() {
        let m = ParsedMessage(bytes: Array("Received: one\r\n two\r\nreceived: three\r\n\r\n".utf8))
        #expect(m.headerValue("RECEIVED") == ["one two", "three"])
        #expect(m.headerValue("X-Missing") == [])
    }

    @Test func encodedWordsDecode() {
        let m = ParsedMessage(bytes: Array(
            "Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?w6ljcmFu?= and =?windows-1252?Q?=80uro?=\r\n\r\n".utf8))
        #expect(m.decodedHeaderValue("Subject") == ["Caféécran and €uro"])
        #expect(EncodedWords.decode(Array("=?iso-8859-15?Q?=A4?=".utf8)) == "€")  // via iconv
        #expect(EncodedWords.decode(Array("=?bogus-charset?Q?x?= y".utf8)) == "=?bogus-charset?Q?x?= y")
    }

    @Test func transferDecodings() {
        #expect(TransferDecoding.decode(Array("aGVsbG8=\r\n".utf8), encoding: Array("BASE64".utf8)) == Array("hello".utf8))
        #expect(TransferDecoding.decode(Array("a=3Db=\r\nc  \r\n".utf8), encoding: Array("quoted-printable".utf8))
            == Array("a=bc\r\n".utf8))
        #expect(TransferDecoding.decode([1, 2], encoding: Array("x-uuencode".utf8)) == nil)
    }

    @Test func charsets() {
        #expect(Charsets.decode([0xFE, 0xFF, 0x00, 0x41, 0x20, 0xAC], charset: "UTF-16") == "A€")
        #expect(Charsets.decode([0x93, 0x94], charset: "cp1252") == "\u{201C}\u{201D}")
        #expect(Charsets.decode([0xE4], charset: "ISO-8859-1") == "ä")
        #expect(Charsets.decode([0xA4, 0xA2], charset: "EUC-JP") == "あ")
    }

    @Test func dates() {
        #expect(DateParser.parse(Array("Tue, 1 Jul 2003 10:52:37 +0200".utf8)) == 1_057_049_557)
        #expect(DateParser.parse(Array("Mon, 7 Jul 03 1:02:03 GMT".utf8)) == 1_057_539_723)
        #expect(DateParser.parse(Array("4 Jul 2003 09:30 EST".utf8)) == 1_057_329_000)
        #expect(DateParser.parse(Array("Wed, 02 Jul 2003 08:00:00 -0700 (PDT)".utf8)) == 1_057_158_000)
        #expect(DateParser.parse(Array("garbage date".utf8)) == nil)
        let m = ParsedMessage(bytes: Array("Date: 1 Jan 70 00:00:10 +0000\r\n\r\n".utf8))
        #expect(m.date == 10)
    }

    @Test func baseSubjects() {
        #expect(SortKeys.baseSubject("Re: Fwd: [list] Hello  world (fwd)") == "Hello world")
        #expect(SortKeys.baseSubject("[Fwd: Re: something]") == "something")
        #expect(SortKeys.baseSubject("RE [x]: FW: test") == "test")
        #expect(SortKeys.baseSubject("[only blob]") == "[only blob]")
        #expect(SortKeys.baseSubject("=?UTF-8?Q?Re=3A_caf=C3=A9?=") == "café")
    }

    @Test func searchableTextDecodesParts() throws {
        let msg = ParsedMessage(bytes: Fixtures.message("alternative"))
        let text = msg.searchableText(headers: false, body: true)
        #expect(text.contains("Grüße aus München, a long line that is soft broken here."))
        let headers = msg.searchableText(headers: true, body: false)
        #expect(headers.contains("Subject: Äpfel and Birnen ä"))
        let b64 = ParsedMessage(bytes: Fixtures.message("encoded-words")).searchableText(headers: false, body: true)
        #expect(b64.contains("Hej på dig, det är en test."))
    }
}

@Suite struct BoundsTests {
    @Test func deepNestingIsCappedWithoutRecursionBlowup() {
        // Boundaries are matched by prefix (RFC 2046 §5.1.1), so each one is terminated to stay unique.
        var s = "Content-Type: multipart/mixed; boundary=b0x\r\n\r\n"
        for i in 1..<5_000 { s += "--b\(i - 1)x\r\nContent-Type: multipart/mixed; boundary=b\(i)x\r\n\r\n" }
        let m = ParsedMessage(bytes: Array(s.utf8), limits: MIMELimits(maxDepth: 32))
        #expect(m.partCount <= 40)
        #expect(m.bodyStructure(extended: true).hasPrefix("(("))
    }

    @Test func nestedMessagesAreCapped() {
        let s = String(repeating: "Content-Type: message/rfc822\r\n\r\n", count: 3_000) + "body"
        let m = ParsedMessage(bytes: Array(s.utf8))
        #expect(m.partCount == 33)
        _ = m.bodyStructure(extended: true)
    }

    @Test func partCountIsCapped() {
        var s = "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        for _ in 0..<500 { s += "--x\r\n\r\npart\r\n" }
        let m = ParsedMessage(bytes: Array(s.utf8), limits: MIMELimits(maxParts: 100))
        #expect(m.partCount == 100)
        #expect(m.section(BodySection(part: [99])) != nil)
        #expect(m.section(BodySection(part: [100])) == nil)
    }

    @Test func hugeHeaderDegradesToBody() {
        let s = "Subject: a\r\n" + String(repeating: "X-Pad: 0123456789\r\n", count: 200) + "\r\nbody"
        let m = ParsedMessage(bytes: Array(s.utf8), limits: MIMELimits(maxHeaderFields: 10))
        #expect(m.headerValue("X-Pad").count == 9)
        #expect(m.section(BodySection(text: .text))!.count > 3_000)
    }

    @Test func emptyAndGarbageInput() {
        for input: [UInt8] in [[], [0], [13], [10], Array("--\r\n--".utf8), [0xFF, 0xFE, 0x0A, 0x0A]] {
            let m = ParsedMessage(bytes: input)
            #expect(m.section(BodySection()) == m.crlfBytes)
            _ = m.envelope()
            _ = m.bodyStructure(extended: true)
        }
    }
}

@Suite struct SectionTests {
    @Test func nestedMessageSections() throws {
        let m = ParsedMessage(bytes: Fixtures.message("nested-rfc822"))
        let header = try #require(m.section(BodySection(part: [2], text: .header)))
        #expect(String(decoding: header, as: UTF8.self).hasPrefix("From: Original"))
        let inner = try #require(m.section(BodySection(part: [2, 1])))
        #expect(String(decoding: inner, as: UTF8.self) == "Inner plain.")
        let mime = try #require(m.section(BodySection(part: [2, 2], text: .mime)))
        #expect(String(decoding: mime, as: UTF8.self) == "Content-Type: text/html\r\n\r\n")
        #expect(m.section(BodySection(part: [2, 3])) == nil)
        #expect(m.section(BodySection(part: [1], text: .header)) == nil)
        #expect(m.section(BodySection(text: .mime)) == nil)
    }

    @Test func headerFieldsKeepMessageOrderAndFolding() throws {
        let m = ParsedMessage(bytes: Array("B: 1\r\nA: 2\r\n x\r\nb: 3\r\n\r\nbody".utf8))
        let f = try #require(m.section(BodySection(text: .headerFields(["a", "B"]))))
        #expect(String(decoding: f, as: UTF8.self) == "B: 1\r\nA: 2\r\n x\r\nb: 3\r\n\r\n")
        let n = try #require(m.section(BodySection(text: .headerFieldsNot(["b"]))))
        #expect(String(decoding: n, as: UTF8.self) == "A: 2\r\n x\r\n\r\n")
    }
}
