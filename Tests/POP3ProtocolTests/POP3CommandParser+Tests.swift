import AerieTestSupport
import Testing

@testable import POP3Protocol

@Suite("POP3Command.parse")
struct POP3CommandParserTests {
    struct Success: CustomTestStringConvertible, Sendable {
        var line: String
        var command: POP3Command
        var testDescription: String { line.debugDescription }
    }

    struct Failure: CustomTestStringConvertible, Sendable {
        var line: String
        var message: String
        var testDescription: String { line.debugDescription }
    }

    static let successes: [Success] = [
        Success(line: "USER alice", command: .user("alice")),
        Success(line: "user alice@example.org", command: .user("alice@example.org")),
        Success(line: "USER  alice", command: .user("alice")),
        Success(line: "PASS secret", command: .pass("secret")),
        Success(line: "PASS  two words ", command: .pass(" two words ")),  // RFC 1939 §7: spaces are part of it
        Success(line: "pass pässwörd", command: .pass("pässwörd")),
        Success(line: "APOP mrose c4c9334bac560ecc979e58001b3e22fb", command: .apop(user: "mrose", digest: "c4c9334bac560ecc979e58001b3e22fb")),
        Success(line: "AUTH", command: .auth(mechanism: nil, initialResponse: nil)),
        Success(line: "AUTH plain", command: .auth(mechanism: "PLAIN", initialResponse: nil)),
        Success(line: "AUTH PLAIN AGFsaWNlAHNlY3JldA==", command: .auth(mechanism: "PLAIN", initialResponse: "AGFsaWNlAHNlY3JldA==")),
        Success(line: "AUTH PLAIN =", command: .auth(mechanism: "PLAIN", initialResponse: "=")),
        Success(line: "AUTH SCRAM-SHA-256", command: .auth(mechanism: "SCRAM-SHA-256", initialResponse: nil)),
        Success(line: "STAT", command: .stat),
        Success(line: "stat", command: .stat),
        Success(line: "StAt ignored", command: .stat),  // Dovecot ignores arguments of argument-less commands
        Success(line: "LIST", command: .list(nil)),
        Success(line: "LIST ", command: .list(nil)),
        Success(line: "LIST 1", command: .list(1)),
        Success(line: "LIST  2", command: .list(2)),
        Success(line: "LIST 0007", command: .list(7)),
        Success(line: "LIST 9999999999", command: .list(9_999_999_999)),
        Success(line: "RETR 1", command: .retr(1)),
        Success(line: "DELE 42", command: .dele(42)),
        Success(line: "NOOP", command: .noop),
        Success(line: "RSET", command: .rset),
        Success(line: "QUIT", command: .quit),
        Success(line: "TOP 1 0", command: .top(msg: 1, lines: 0)),
        Success(line: "top 3  10", command: .top(msg: 3, lines: 10)),
        Success(line: "UIDL", command: .uidl(nil)),
        Success(line: "UIDL 5", command: .uidl(5)),
        Success(line: "CAPA", command: .capa),
        Success(line: "STLS", command: .stls),
        Success(line: "UTF8", command: .utf8),
    ]

    static let failures: [Failure] = [
        Failure(line: "", message: "Empty command"),
        Failure(line: "FOO", message: "Unknown command: FOO"),
        Failure(line: "foo bar", message: "Unknown command: FOO"),
        Failure(line: "LAST", message: "Unknown command: LAST"),
        Failure(line: " STAT", message: "Unknown command"),
        Failure(line: String(repeating: "X", count: 33), message: "Unknown command"),
        Failure(line: "R\u{7F}TR 1", message: "Unknown command"),
        Failure(line: "STAT\0", message: "Invalid characters in command"),
        Failure(line: "PASS a\rb", message: "Invalid characters in command"),
        Failure(line: "USER", message: "Missing argument"),
        Failure(line: "USER ", message: "Missing argument"),
        Failure(line: "PASS", message: "Missing argument"),
        Failure(line: "PASS ", message: "Missing argument"),
        Failure(line: "RETR", message: "Missing argument"),
        Failure(line: "RETR ", message: "Missing argument"),
        Failure(line: "DELE", message: "Missing argument"),
        Failure(line: "RETR 0", message: "Invalid message number"),
        Failure(line: "RETR 00", message: "Invalid message number"),
        Failure(line: "RETR -1", message: "Invalid message number"),
        Failure(line: "RETR +1", message: "Invalid message number"),
        Failure(line: "RETR one", message: "Invalid message number"),
        Failure(line: "RETR 12345678901", message: "Invalid message number"),
        Failure(line: "RETR 1x", message: "Noise after message number"),
        Failure(line: "RETR 1 ", message: "Noise after message number"),
        Failure(line: "LIST 1 2", message: "Noise after message number"),
        Failure(line: "UIDL 0", message: "Invalid message number"),
        Failure(line: "TOP", message: "Missing argument"),
        Failure(line: "TOP 1", message: "Missing argument"),
        Failure(line: "TOP 1 ", message: "Missing argument"),
        Failure(line: "TOP 1x 2", message: "Noise after message number"),
        Failure(line: "TOP 0 2", message: "Invalid message number"),
        Failure(line: "TOP 1 -2", message: "Invalid number of lines"),
        Failure(line: "TOP 1 2 3", message: "Invalid number of lines"),
        Failure(line: "TOP 1 12345678901", message: "Invalid number of lines"),
        Failure(line: "APOP mrose", message: "Missing argument"),
        Failure(line: "APOP a b c", message: "Too many arguments"),
        Failure(line: "AUTH PL@IN", message: "Invalid SASL mechanism name"),
        Failure(line: "AUTH ABCDEFGHIJKLMNOPQRSTU", message: "Invalid SASL mechanism name"),
        Failure(line: "AUTH PLAIN a*b", message: "Invalid base64 in initial response"),
        Failure(line: "AUTH PLAIN abc= x", message: "Too many arguments"),
    ]

    @Test(arguments: successes)
    func parses(_ fixture: Success) throws {
        #expect(try POP3Command.parse(bytes(fixture.line)) == fixture.command)
    }

    @Test(arguments: failures)
    func refuses(_ fixture: Failure) {
        #expect(parseError(fixture.line) == fixture.message)
    }

    @Test func invalidUTF8Password() {
        #expect(throws: POP3ParseError(message: "Invalid UTF-8 in argument")) {
            try POP3Command.parse(bytes("PASS ") + [0xFF, 0xFE])
        }
    }

    @Test func errorDescriptionIsTheReplyLine() {
        #expect(POP3ParseError(message: "Missing argument").description == "-ERR Missing argument")
    }

    @Test func keywordsRoundTrip() throws {
        for fixture in Self.successes {
            let command = try POP3Command.parse(bytes(fixture.line))
            #expect(fixture.line.uppercased().hasPrefix(command.keyword))
        }
    }

    @Test func redactionHidesSecrets() throws {
        let pass = try POP3Command.parse(bytes("PASS hunter2 and more"))
        #expect(pass.redactedDescription == "PASS <hidden>")
        let auth = try POP3Command.parse(bytes("AUTH PLAIN AGFsaWNlAHNlY3JldA=="))
        #expect(auth.redactedDescription == "AUTH PLAIN <hidden>")
        let apop = try POP3Command.parse(bytes("APOP bob c4c9334bac560ecc979e58001b3e22fb"))
        #expect(apop.redactedDescription == "APOP bob <hidden>")
        #expect(try POP3Command.parse(bytes("USER bob")).redactedDescription == "USER bob")
        #expect(try POP3Command.parse(bytes("TOP 2 5")).redactedDescription == "TOP 2 5")
        #expect(try POP3Command.parse(bytes("AUTH")).redactedDescription == "AUTH")
    }

    @Test func rawLineRedaction() {
        #expect(POP3Command.redactedDescription(of: bytes("pass hunter2")) == "PASS <hidden>")
        #expect(POP3Command.redactedDescription(of: bytes("AUTH PLAIN x y z")) == "AUTH <hidden>")
        #expect(POP3Command.redactedDescription(of: bytes("APOP bob digest")) == "APOP <hidden>")
        #expect(POP3Command.redactedDescription(of: bytes("RETR 1")) == "RETR 1")
        #expect(POP3Command.redactedDescription(of: bytes("X\r\nY")) == "X??Y")
        #expect(POP3Command.redactedDescription(of: [UInt8](repeating: 0x41, count: 300)).utf8.count == 131)
    }
}
