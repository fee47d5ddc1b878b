import AerieTestSupport
import Testing

@testable import LMTPProtocol

@Suite("LMTPCommand.parse")
struct LMTPCommandParserTests {
    struct Success: CustomTestStringConvertible, Sendable {
        var line: String
        var command: LMTPCommand
        var testDescription: String { line.debugDescription }
    }

    struct Failure: CustomTestStringConvertible, Sendable {
        var line: String
        var reply: String
        var testDescription: String { line.debugDescription }
    }

    static let successes: [Success] = [
        Success(line: "LHLO mx.example.org", command: .lhlo(domain: "mx.example.org")),
        Success(line: "lhlo [127.0.0.1]", command: .lhlo(domain: "[127.0.0.1]")),
        Success(line: "MAIL FROM:<alice@example.org>", command: .mailFrom(address: "alice@example.org", parameters: [:])),
        Success(line: "mail from:<>", command: .mailFrom(address: "", parameters: [:])),
        Success(line: "MAIL FROM: <alice@example.org>", command: .mailFrom(address: "alice@example.org", parameters: [:])),
        Success(
            line: "MAIL FROM:<a@b.c> SIZE=1024 BODY=8bitmime",
            command: .mailFrom(address: "a@b.c", parameters: ["SIZE": "1024", "BODY": "8BITMIME"])),
        Success(
            line: "MAIL FROM:<a@b.c>  body=BINARYMIME  smtputf8",
            command: .mailFrom(address: "a@b.c", parameters: ["BODY": "BINARYMIME", "SMTPUTF8": String?.none])),
        Success(
            line: "MAIL FROM:<a@b.c> RET=HDRS ENVID=QQ314159 AUTH=<>",
            command: .mailFrom(address: "a@b.c", parameters: ["RET": "HDRS", "ENVID": "QQ314159", "AUTH": "<>"])),
        Success(line: "MAIL FROM:<@relay.one,@relay.two:joe@example.org>", command: .mailFrom(address: "joe@example.org", parameters: [:])),
        Success(line: "MAIL FROM:<\"john doe\"@example.org>", command: .mailFrom(address: "\"john doe\"@example.org", parameters: [:])),
        Success(line: "MAIL FROM:<\"a>b\\\"c\"@example.org>", command: .mailFrom(address: "\"a>b\\\"c\"@example.org", parameters: [:])),
        Success(line: "MAIL FROM:<first..last.@example.org>", command: .mailFrom(address: "first..last.@example.org", parameters: [:])),
        Success(
            line: "MAIL FROM:<SRS0=HHH=TT=example.com=a-very-long-original-local-part-beyond-64@forwarder.example.net>",
            command: .mailFrom(address: "SRS0=HHH=TT=example.com=a-very-long-original-local-part-beyond-64@forwarder.example.net", parameters: [:])),
        Success(line: "MAIL FROM:<MAILER-DAEMON>", command: .mailFrom(address: "MAILER-DAEMON", parameters: [:])),
        Success(line: "MAIL FROM:<user@[192.0.2.1]>", command: .mailFrom(address: "user@[192.0.2.1]", parameters: [:])),
        Success(line: "MAIL FROM:<user@[IPv6:2001:db8::1]>", command: .mailFrom(address: "user@[IPv6:2001:db8::1]", parameters: [:])),
        Success(line: "RCPT TO:<bob@example.org>", command: .rcptTo(address: "bob@example.org", parameters: [:])),
        Success(line: "rcpt to:<bob+lists@example.org>", command: .rcptTo(address: "bob+lists@example.org", parameters: [:])),
        Success(line: "RCPT TO:<Postmaster>", command: .rcptTo(address: "Postmaster", parameters: [:])),
        Success(line: "RCPT TO:<josé@exämple.org>", command: .rcptTo(address: "josé@exämple.org", parameters: [:])),
        Success(line: "RCPT TO:<first_last@mail_host.example>", command: .rcptTo(address: "first_last@mail_host.example", parameters: [:])),
        Success(
            line: "RCPT TO:<bob@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob@example.org",
            command: .rcptTo(address: "bob@example.org", parameters: ["NOTIFY": "FAILURE,DELAY", "ORCPT": "rfc822;bob@example.org"])),
        Success(line: "DATA", command: .data),
        Success(line: "data ", command: .data),
        Success(line: "BDAT 0 LAST", command: .bdat(size: 0, last: true)),
        Success(line: "BDAT 86", command: .bdat(size: 86, last: false)),
        Success(line: "bdat 1000 last", command: .bdat(size: 1000, last: true)),
        Success(line: "RSET", command: .rset),
        Success(line: "NOOP", command: .noop),
        Success(line: "NOOP anything", command: .noop),
        Success(line: "QUIT", command: .quit),
        Success(line: "VRFY bob", command: .vrfy("bob")),
        Success(line: "HELP", command: .help),
        Success(line: "HELP DATA", command: .help),
        Success(line: "STARTTLS", command: .starttls),
    ]

    static let failures: [Failure] = [
        Failure(line: "", reply: "500 5.5.2 Empty command"),
        Failure(line: "FOO", reply: "500 5.5.1 Unknown command"),
        Failure(line: "EHLO mx", reply: "500 5.5.1 Unknown command, use LHLO"),
        Failure(line: "HELO mx", reply: "500 5.5.1 Unknown command, use LHLO"),
        Failure(line: "NOOP\0", reply: "500 5.5.2 Invalid characters in command"),
        Failure(line: "LHLO", reply: "501 5.5.4 Syntax: LHLO hostname"),
        Failure(line: "MAIL", reply: "501 5.5.4 Syntax: MAIL FROM:<address>"),
        Failure(line: "MAIL TO:<a@b>", reply: "501 5.5.4 Syntax: MAIL FROM:<address>"),
        Failure(line: "MAIL FROM:a@b", reply: "501 5.5.4 Syntax: MAIL FROM:<address>"),
        Failure(line: "MAIL FROM:<a@b", reply: "501 5.5.4 Syntax: MAIL FROM:<address>"),
        Failure(line: "MAIL FROM:<a@b>SIZE=1", reply: "501 5.5.4 Syntax: MAIL FROM:<address>"),
        Failure(line: "MAIL FROM:<a b@c>", reply: "501 5.1.7 Invalid sender address"),
        Failure(line: "MAIL FROM:<@c>", reply: "501 5.1.7 Invalid sender address"),
        Failure(line: "MAIL FROM:<a@>", reply: "501 5.1.7 Invalid sender address"),
        Failure(line: "MAIL FROM:<a@b@c>", reply: "501 5.1.7 Invalid sender address"),
        Failure(line: "MAIL FROM:<@relay:>", reply: "501 5.1.7 Invalid sender address"),
        Failure(line: "MAIL FROM:<@relay a@b>", reply: "501 5.1.7 Invalid sender address"),
        Failure(line: "MAIL FROM:<\"unterminated@b>", reply: "501 5.5.4 Syntax: MAIL FROM:<address>"),
        Failure(line: "MAIL FROM:<\"a\"b@c>", reply: "501 5.1.7 Invalid sender address"),
        Failure(line: "MAIL FROM:<a@[1.2.3.4>", reply: "501 5.1.7 Invalid sender address"),
        Failure(line: "MAIL FROM:<a@.example>", reply: "501 5.1.7 Invalid sender address"),
        Failure(line: "MAIL FROM:<a@b> SIZE", reply: "501 5.5.4 Invalid SIZE parameter"),
        Failure(line: "MAIL FROM:<a@b> SIZE=1k", reply: "501 5.5.4 Invalid SIZE parameter"),
        Failure(line: "MAIL FROM:<a@b> SIZE=123456789012345678901", reply: "501 5.5.4 Invalid SIZE parameter"),
        Failure(line: "MAIL FROM:<a@b> BODY=9BIT", reply: "501 5.5.4 Unsupported BODY type"),
        Failure(line: "MAIL FROM:<a@b> SMTPUTF8=yes", reply: "501 5.5.4 Invalid parameters"),
        Failure(line: "MAIL FROM:<a@b> SIZE=", reply: "501 5.5.4 Invalid parameters"),
        Failure(line: "MAIL FROM:<a@b> =1", reply: "501 5.5.4 Invalid parameters"),
        Failure(line: "MAIL FROM:<a@b> -X=1", reply: "501 5.5.4 Invalid parameters"),
        Failure(line: "MAIL FROM:<a@b> SIZE=1 size=2", reply: "501 5.5.4 Duplicate parameter"),
        Failure(line: "MAIL FROM:<a@b> XFOO=1", reply: "555 5.5.4 Unsupported parameter"),
        Failure(line: "MAIL FROM:<a@b> NOTIFY=NEVER", reply: "555 5.5.4 Unsupported parameter"),
        Failure(line: "RCPT", reply: "501 5.5.4 Syntax: RCPT TO:<address>"),
        Failure(line: "RCPT TO:bob", reply: "501 5.5.4 Syntax: RCPT TO:<address>"),
        Failure(line: "RCPT TO:<>", reply: "501 5.1.3 Invalid address"),
        Failure(line: "RCPT TO:<a,b@c>", reply: "501 5.1.3 Invalid address"),
        Failure(line: "RCPT TO:<bob@example.org> SIZE=1", reply: "555 5.5.4 Unsupported parameter"),
        Failure(line: "RCPT TO:<bob@example.org> NOTIFY", reply: "501 5.5.4 Invalid parameters"),
        Failure(line: "RCPT TO:<bob@exa\u{FFFD}mple.org", reply: "501 5.5.4 Syntax: RCPT TO:<address>"),
        Failure(line: "DATA x", reply: "501 5.5.4 Unexpected arguments"),
        Failure(line: "RSET now", reply: "501 5.5.4 Unexpected arguments"),
        Failure(line: "QUIT now", reply: "501 5.5.4 Unexpected arguments"),
        Failure(line: "STARTTLS x", reply: "501 5.5.4 Unexpected arguments"),
        Failure(line: "BDAT", reply: "501 5.5.4 Syntax: BDAT size [LAST]"),
        Failure(line: "BDAT x", reply: "501 5.5.4 Syntax: BDAT size [LAST]"),
        Failure(line: "BDAT -1", reply: "501 5.5.4 Syntax: BDAT size [LAST]"),
        Failure(line: "BDAT 1 FIRST", reply: "501 5.5.4 Syntax: BDAT size [LAST]"),
        Failure(line: "BDAT 1 LAST x", reply: "501 5.5.4 Syntax: BDAT size [LAST]"),
        Failure(line: "BDAT 1234567890123456789", reply: "501 5.5.4 Syntax: BDAT size [LAST]"),
        Failure(line: "VRFY", reply: "501 5.5.4 Syntax: VRFY address"),
    ]

    @Test(arguments: successes)
    func parses(_ fixture: Success) throws {
        #expect(try LMTPCommand.parse(bytes(fixture.line)) == fixture.command)
    }

    @Test(arguments: failures)
    func refuses(_ fixture: Failure) {
        #expect(parseError(fixture.line)?.description == fixture.reply)
    }

    @Test func addressLengthBounds() throws {
        let local64 = String(repeating: "l", count: 64)
        let domain = String(repeating: "d", count: 63) + "." + String(repeating: "e", count: 63) + ".org"
        #expect(try LMTPCommand.parse(bytes("RCPT TO:<\(local64)@\(domain)>")) == .rcptTo(address: "\(local64)@\(domain)", parameters: [:]))
        #expect(parseError("RCPT TO:<\(local64)l@\(domain)>") == .invalidAddress)
        // Senders may have longer local parts (SRS), but the path is still bounded.
        #expect(try LMTPCommand.parse(bytes("MAIL FROM:<\(local64)l@example.org>")) == .mailFrom(address: "\(local64)l@example.org", parameters: [:]))
        let path254 = String(repeating: "s", count: 100) + "@" + String(repeating: "d", count: 153)
        #expect(path254.utf8.count == 254)
        #expect(try LMTPCommand.parse(bytes("MAIL FROM:<\(path254)>")) == .mailFrom(address: path254, parameters: [:]))
        #expect(parseError("MAIL FROM:<\(path254)x>") == .invalidSender)
        #expect(parseError("RCPT TO:<a@\(String(repeating: "d", count: 256))>") == .invalidAddress)
    }

    @Test func invalidUTF8Address() {
        #expect(throws: LMTPParseError.invalidAddress) { try LMTPCommand.parse(bytes("RCPT TO:<a") + [0xC3, 0x28] + bytes("@b>")) }
        #expect(throws: LMTPParseError.lhloSyntax) { try LMTPCommand.parse(bytes("LHLO ") + [0xFF]) }
    }

    @Test func mailParameters() throws {
        guard case .mailFrom(_, let parameters) = try LMTPCommand.parse(bytes("MAIL FROM:<> SIZE=99 BODY=7bit SMTPUTF8")) else {
            Issue.record("not MAIL")
            return
        }
        let view = LMTPMailParameters(parameters)
        #expect(view.size == 99)
        #expect(view.body == .sevenBit)
        #expect(view.smtpUTF8)
        #expect(LMTPMailParameters([:]) == LMTPMailParameters(["RET": "FULL"]))
        #expect(LMTPMailParameters(["SIZE": "99999999999999999999"]).size == .max)  // over Int: too large anyway
    }

    @Test func errorsBecomeReplies() {
        #expect(LMTPParseError.mailSyntax.reply.bytes == bytes("501 5.5.4 Syntax: MAIL FROM:<address>\r\n"))
    }
}
