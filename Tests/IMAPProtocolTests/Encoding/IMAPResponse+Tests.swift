import AerieTestSupport
import NIOCore
import Testing

@testable import IMAPProtocol

@Suite("Response encoding")
struct IMAPResponseTests {
    static let fixtures: [(IMAPResponse, String)] = [
        (.greeting(.ok, .capability(["IMAP4rev2", "STARTTLS", "AUTH=PLAIN"]), "Aerie ready."),
         "* OK [CAPABILITY IMAP4rev2 STARTTLS AUTH=PLAIN] Aerie ready.\r\n"),
        (.greeting(.preauth, nil, "Logged in as bob"), "* PREAUTH Logged in as bob\r\n"),
        (.greeting(.bye, .unavailable, "Too many connections"), "* BYE [UNAVAILABLE] Too many connections\r\n"),
        (.untagged("CAPABILITY IMAP4rev2 IMAP4rev1"), "* CAPABILITY IMAP4rev2 IMAP4rev1\r\n"),
        (.untaggedStatus(.bye, nil, "Logging out"), "* BYE Logging out\r\n"),
        (.untaggedStatus(.ok, .alert, "Maintenance at 22:00"), "* OK [ALERT] Maintenance at 22:00\r\n"),
        (.untaggedStatus(.bad, nil, "Invalid characters in tag"), "* BAD Invalid characters in tag\r\n"),
        (.tagged(tag("a1"), .ok, nil, "LOGIN completed"), "a1 OK LOGIN completed\r\n"),
        (.tagged(tag("a1"), .no, .authenticationFailed, "Authentication failed."), "a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"),
        (.tagged(tag("a1"), .no, .privacyRequired, "Use STARTTLS"), "a1 NO [PRIVACYREQUIRED] Use STARTTLS\r\n"),
        (.tagged(tag("a1"), .bad, .clientBug, "x"), "a1 BAD [CLIENTBUG] x\r\n"),
        (.tagged(tag("a1"), .ok, nil, ""), "a1 OK\r\n"),
        (.tagged(tag("a1"), .ok, .other("APPENDUID 38505 3955"), ""), "a1 OK [APPENDUID 38505 3955] \r\n"),
        (.tagged(tag("t"), .no, .tooBig, "big"), "t NO [TOOBIG] big\r\n"),
        (.continuation(""), "+ \r\n"),
        (.continuation("OK"), "+ OK\r\n"),
        (.continuation("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+"), "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+\r\n"),
    ]

    @Test(arguments: fixtures)
    func encodes(_ response: IMAPResponse, _ expected: String) {
        #expect(response.bytes == bytes(expected))
        var buffer = ByteBuffer()
        response.encode(into: &buffer)
        #expect(buffer.readString(length: buffer.readableBytes) == expected)
    }

    @Test func everyCodeHasItsRFCName() {
        let codes: [(IMAPResponseCode, String)] = [
            (.alert, "ALERT"), (.privacyRequired, "PRIVACYREQUIRED"), (.authenticationFailed, "AUTHENTICATIONFAILED"),
            (.authorizationFailed, "AUTHORIZATIONFAILED"), (.unavailable, "UNAVAILABLE"), (.tooBig, "TOOBIG"),
            (.limit, "LIMIT"), (.cannot, "CANNOT"), (.clientBug, "CLIENTBUG"), (.serverBug, "SERVERBUG"),
            (.contactAdmin, "CONTACTADMIN"), (.expired, "EXPIRED"), (.parse, "PARSE"), (.capability([]), "CAPABILITY"),
            (.useAttribute, "USEATTR"),
        ]
        for (code, text) in codes { #expect(code.text == text) }
    }

    @Test func textCannotInjectResponses() {
        let hostile = "oops\r\n* OK [ALERT] fake\r\na2 OK\0"
        for response in [
            IMAPResponse.tagged(tag("a"), .no, .other("X]\r\nY"), hostile),
            .untaggedStatus(.bye, nil, hostile),
            .greeting(.ok, .capability(["A]B", "C\r\nD"]), hostile),
            .continuation(hostile),
            .untagged(hostile),
        ] {
            let encoded = response.bytes
            #expect(encoded.filter { $0 == ASCII.lf }.count == 1)
            #expect(encoded.filter { $0 == ASCII.cr }.count == 1)
            #expect(!encoded.contains(0))
            #expect(encoded.suffix(2) == [ASCII.cr, ASCII.lf])
        }
        #expect(IMAPResponse.greeting(.ok, .capability(["A]B"]), "x").bytes == bytes("* OK [CAPABILITY AB] x\r\n"))
        var forged = tag("a")
        forged.rawValue = "a\r\n* OK"
        #expect(IMAPResponse.tagged(forged, .ok, nil, "x").bytes == bytes("aOK OK x\r\n"))
    }

    @Test func untaggedKeepsLiteralsWhole() {
        let value = "line1\r\nline2"
        let response = IMAPResponse.untagged("ID (\"name\" \(IMAPString.nstring(value)))")
        #expect(response.bytes == bytes("* ID (\"name\" {12}\r\nline1\r\nline2)\r\n"))
        // A forged marker whose count runs past the end is not a literal.
        #expect(IMAPResponse.untagged("X {99}\r\nshort").bytes == bytes("* X {99}  short\r\n"))
    }
}

@Suite("IMAPString")
struct IMAPStringTests {
    static let values = [
        "", "plain", "with space", "q\"uote", "back\\slash", "\"\\\"\\", "ünïcødé", "line\r\nbreak", "nul\0byte",
        String(repeating: "x", count: 1024), String(repeating: "y", count: 1025), "{3}", "NIL",
    ]

    @Test func quotingChoices() {
        #expect(IMAPString.quotedOrLiteral("plain") == "\"plain\"")
        #expect(IMAPString.quotedOrLiteral("q\"b\\") == "\"q\\\"b\\\\\"")
        #expect(IMAPString.quotedOrLiteral("ü") == "{2}\r\nü")
        #expect(IMAPString.quotedOrLiteral("a\r\nb") == "{4}\r\na\r\nb")
        #expect(IMAPString.quotedOrLiteral("a\0b") == "{2}\r\nab")
        #expect(IMAPString.quotedOrLiteral(String(repeating: "x", count: 1025)).hasPrefix("{1025}\r\n"))
        #expect(IMAPString.nstring(nil) == "NIL")
        #expect(IMAPString.nstring("NIL") == "\"NIL\"")
    }

    /// Encode with the server's quoting, parse back with the command grammar: same value.
    @Test(arguments: values)
    func roundTrip(_ value: String) throws {
        var cursor = ByteCursor(bytes(IMAPString.quotedOrLiteral(value)))
        let parsed = try cursor.parseString()
        #expect(cursor.isAtEnd)
        #expect(parsed.bytes == bytes(value).filter { $0 != 0 })
    }

    /// LOGIN written as a client would (quoted, literal, LITERAL+, atom), framed and parsed.
    @Test(arguments: ["bob", "bob smith", "pässwörd", "p\"w\\", "{5}", String(repeating: "z", count: 2000)])
    func loginRoundTripThroughFramer(_ password: String) throws {
        let forms = [
            "a LOGIN user \(IMAPString.quotedOrLiteral(password))\r\n",
            "a LOGIN user {\(password.utf8.count)}\r\n\(password)\r\n",
            "a LOGIN user {\(password.utf8.count)+}\r\n\(password)\r\n",
        ]
        for form in forms {
            let units = frameWhole(bytes(form)).compactMap { event -> [UInt8]? in
                if case .unit(let unit) = event { return unit }
                return nil
            }
            #expect(units.count == 1)
            let command = try IMAPCommandParser.parse(units[0])
            #expect(command.kind == .login(user: "user", password: password))
            #expect(!command.redactedDescription.contains(password))
        }
    }
}
