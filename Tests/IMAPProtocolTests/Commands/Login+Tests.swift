import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("LOGIN")
struct LoginTests {
    struct Fixture: CustomTestStringConvertible, Sendable {
        var input: String
        var user: String
        var password: String
        var description: String
        var testDescription: String { input.debugDescription }
    }

    static let successes: [Fixture] = [
        Fixture(input: "a LOGIN bob secret", user: "bob", password: "secret", description: "a LOGIN bob <hidden>"),
        Fixture(input: "a login \"bob\" \"se cret\"", user: "bob", password: "se cret", description: "a login \"bob\" <hidden>"),
        Fixture(input: "a LOGIN \"b\\\"o\\\\b\" \"\"", user: "b\"o\\b", password: "", description: "a LOGIN \"b\\\"o\\\\b\" <hidden>"),
        Fixture(input: "a LOGIN {3}\r\nbob {6}\r\nsecret", user: "bob", password: "secret", description: "a LOGIN {3} <hidden>"),
        Fixture(input: "a LOGIN {3+}\r\nbob {6+}\r\nse\r\nrt", user: "bob", password: "se\r\nrt", description: "a LOGIN {3+} <hidden>"),
        Fixture(input: "a LOGIN bob {0}\r\n", user: "bob", password: "", description: "a LOGIN bob <hidden>"),
        Fixture(input: "a LOGIN \"jürgen\" \"pässword\"", user: "jürgen", password: "pässword", description: "a LOGIN \"jürgen\" <hidden>"),
        Fixture(input: "a LOGIN user] pa]ss", user: "user]", password: "pa]ss", description: "a LOGIN user] <hidden>"),
    ]

    @Test(arguments: successes)
    func parses(_ fixture: Fixture) throws {
        let command = try IMAPCommandParser.parse(bytes(fixture.input))
        #expect(command.kind == .login(user: fixture.user, password: fixture.password))
        #expect(command.redactedDescription == fixture.description)
        if !fixture.password.isEmpty {
            #expect(!command.redactedDescription.contains(fixture.password))
        }
    }

    static let failures: [(String, String)] = [
        ("a LOGIN", "Missing username"),
        ("a LOGIN ", "Missing username"),
        ("a LOGIN bob", "Missing password"),
        ("a LOGIN bob ", "Missing password"),
        ("a LOGIN  bob pw", "Double spaces"),
        ("a LOGIN bob  pw", "Double spaces"),
        ("a LOGIN bob pw ", "Trailing space"),
        ("a LOGIN bob pw extra", "Unexpected arguments"),
        ("a LOGIN bob p{ss", "Unexpected arguments"),
        ("a LOGIN (bob) pw", "Invalid characters in username"),
        ("a LOGIN bob \"pw", "Missing '\"'"),
        ("a LOGIN bob \"p\\w\"", "Invalid escape in quoted string"),
        ("a LOGIN bob \"p\u{0}w\"", "Invalid characters in quoted string"),
        ("a LOGIN bob \"p\rw\"", "Invalid characters in quoted string"),
        ("a LOGIN bob {3}\r\np\u{0}w", "NULs not allowed in literal"),
        ("a LOGIN bob ~{3}\r\npxw", "Binary literal not allowed here"),
        ("a LOGIN bob {5}\r\npw", "Literal data truncated"),
        ("a LOGIN bob {3}pwd", "Missing CRLF after literal size"),
        ("a LOGIN bob {x}\r\n", "Invalid literal size"),
        ("a LOGIN bob {3-}\r\nabc", "Invalid literal size"),
        ("a LOGIN bob {1234567890123456789}\r\n", "Literal size too large"),
        ("a LOGIN bob pässword", "Invalid characters in password"),
        ("a LOGIN jürgen pw", "Invalid characters in username"),
        ("a LOGIN\tbob pw", "Invalid characters in command name"),
        ("a LOGIN bob\tpw", "Expected space"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }

    @Test func namesAndPasswordsMustBeUTF8() {
        let badUser = bytes("a LOGIN \"") + [0xFF] + bytes("\" pw")
        let badPassword = bytes("a LOGIN bob {1}\r\n") + [0x80]
        #expect(throws: IMAPParseError(tag: tag("a"), message: "Username is not valid UTF-8")) {
            try IMAPCommandParser.parse(badUser)
        }
        #expect(throws: IMAPParseError(tag: tag("a"), message: "Password is not valid UTF-8")) {
            try IMAPCommandParser.parse(badPassword)
        }
    }

    @Test func passwordNeverInDescriptionEvenWhenItEqualsTheCommandName() throws {
        for password in ["LOGIN", "a", "{3}", "<hidden>", "bob"] {
            let command = try IMAPCommandParser.parse(bytes("t LOGIN user \(IMAPString.quotedOrLiteral(password))"))
            #expect(command.kind == .login(user: "user", password: password))
            #expect(command.redactedDescription == "t LOGIN user <hidden>")
        }
    }

    @Test func unparsableLoginIsRedactedForLogs() {
        let unit = bytes("a LOGIN bob hunter2 extra")
        #expect(parseError("a LOGIN bob hunter2 extra")?.message == "Unexpected arguments")
        #expect(IMAPCommandParser.redactedDescription(of: unit) == "a LOGIN <hidden>")
        #expect(IMAPCommandParser.redactedDescription(of: bytes("a AUTHENTICATE PLAIN AGJvYgBodW50ZXIy!")) == "a AUTHENTICATE <hidden>")
        #expect(IMAPCommandParser.redactedDescription(of: bytes("a APPEND x {3}\r\nabc")) == "a APPEND x {3}")
        #expect(IMAPCommandParser.redactedDescription(of: bytes("+ bad\r\ntag")) == "+ bad??tag")
    }
}
