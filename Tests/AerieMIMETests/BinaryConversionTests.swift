import Testing
@testable import AerieMIME

/// RFC 3516 §4.3: parts APPENDed in Content-Transfer-Encoding binary are stored base64-encoded, as Dovecot does.
@Suite struct BinaryConversionTests {
    static let binaryBody: [UInt8] = [0, 0x2D, 0xE4, 0x0D, 0x0A, 0x0D, 0x0A]

    @Test func singlePartIsEncodedAndDecodesBack() throws {
        let head = "From: user@domain.org\r\nContent-Type: application/octet-stream\r\n"
        let message = Array((head + "Content-Transfer-Encoding: binary\r\nX-After: 1\r\n\r\n").utf8) + Self.binaryBody
        let converted = try #require(ParsedMessage.binaryPartsInBase64(message))
        let text = String(decoding: converted, as: UTF8.self)
        #expect(text == head + "Content-Transfer-Encoding: base64\r\nX-After: 1\r\n\r\nAC3kDQoNCg==")
        let stored = ParsedMessage(bytes: converted)
        #expect(stored.binarySection([1]) == Self.binaryBody)
        #expect(!converted.contains(0))
    }

    /// The octets are the ones sent: a bare LF in binary data is data (imaptest's append-binary), not a line end.
    @Test func bareLineFeedsStayInTheData() throws {
        let header = "Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n"
        let body: [UInt8] = [0, 0x2D, 0xE4, 0x0A, 0x0D, 0x0A, 0x0A]
        let converted = try #require(ParsedMessage.binaryPartsInBase64(Array(header.utf8) + body))
        #expect(String(decoding: converted, as: UTF8.self)
            == "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\r\n\nAC3kCg0KCg==")
        #expect(ParsedMessage(bytes: converted).binarySection([1]) == body)
    }

    @Test func onlyBinaryLeavesOfAMultipartChange() throws {
        let message = Array("""
            Content-Type: multipart/mixed; boundary="b"\r
            Content-Transfer-Encoding: binary\r
            \r
            --b\r
            Content-Type: text/plain\r
            \r
            hello\r
            --b\r
            Content-Type: application/octet-stream\r
            Content-Transfer-Encoding: BINARY\r
            \r

            """.utf8) + [UInt8](repeating: 0xFF, count: 60) + Array("\r\n--b--\r\n".utf8)
        let converted = try #require(ParsedMessage.binaryPartsInBase64(message))
        let text = String(decoding: converted, as: UTF8.self)
        #expect(text.hasPrefix("Content-Type: multipart/mixed; boundary=\"b\"\r\nContent-Transfer-Encoding: binary"))
        #expect(text.contains("--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n"))
        // 60 octets are 80 base64 characters: a 76-character line, then 4 more.
        let encoded = String(repeating: "/", count: 76) + "\r\n////"
        #expect(text.hasSuffix("Content-Transfer-Encoding: base64\r\n\r\n" + encoded + "\r\n--b--\r\n"))
        #expect(ParsedMessage(bytes: converted).binarySection([2]) == [UInt8](repeating: 0xFF, count: 60))
    }

    @Test func messagesWithoutBinaryPartsAreLeftAlone() {
        #expect(ParsedMessage.binaryPartsInBase64(Array("Subject: x\r\n\r\nbody\r\n".utf8)) == nil)
        let base64 = "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n"
        #expect(ParsedMessage.binaryPartsInBase64(Array(base64.utf8)) == nil)
    }

    /// RFC 3516 §4.2: BINARY[] is the whole message (imaptest's fetch-binary-mime), its body decoded and its header
    /// saying so, as Dovecot 2.3.19 answers (`Content-Transfer-Encoding: binary`).
    @Test func binaryOfTheWholeMessageKeepsTheHeader() {
        let multipart = "Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\nx\r\n--b--\r\n"
        #expect(ParsedMessage(bytes: Array(multipart.utf8)).binarySection([]) == Array(multipart.utf8))
        let header = "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        let single = ParsedMessage(bytes: Array((header + "aGk=\r\n").utf8))
        let binaryHeader = "Content-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        #expect(single.binarySection([]) == Array((binaryHeader + "hi").utf8))
        #expect(single.binarySection([1]) == Array("hi".utf8))
    }
}
