import SASL
import Testing

@Suite struct SASLBase64Tests {
    @Test func roundTripsAllLengths() {
        for length in 0..<10 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 1) }
            #expect(SASLBase64.decode(SASLBase64.encode(bytes)) == bytes)
        }
        #expect(SASLBase64.encode(Array("\0tim\0tanstaaftanstaaf".utf8)) == "AHRpbQB0YW5zdGFhZnRhbnN0YWFm")
    }

    @Test func emptyForms() {
        #expect(SASLBase64.decode("=") == [])
        #expect(SASLBase64.decode("") == [])
    }

    @Test(arguments: ["AHRpbQ", "AHR pbQ==", "AHRpbQ=\r\n", "A===", "AB=C", "AB==AB==", "AHRp!Q==", "QR==", "QUF=", "=AAA"])
    func rejectsNonCanonical(_ text: String) {
        #expect(SASLBase64.decode(text) == nil)
    }
}

@Suite struct SASLPlainTests {
    private func run(_ message: String, initial: Bool = true) -> SASLStep {
        var exchange = SASLServerExchange(mechanism: .plain)
        if initial { return exchange.start(initialResponse: Array(message.utf8)) }
        #expect(exchange.start(initialResponse: nil) == .challenge([]))
        return exchange.respond(Array(message.utf8))
    }

    @Test func rfc4616Examples() {
        #expect(run("\0tim\0tanstaaftanstaaf") == .done(SASLCredentials(authorizationID: "", authenticationID: "tim", password: "tanstaaftanstaaf")))
        #expect(run("Ursel\0Kurt\0xipj3plmq", initial: false) == .done(SASLCredentials(authorizationID: "Ursel", authenticationID: "Kurt", password: "xipj3plmq")))
    }

    /// RFC 4422 Appendix A.1: EXTERNAL's message is the optional authzid; the identity is the certificate's.
    @Test func externalCarriesOnlyTheAuthzid() {
        var empty = SASLServerExchange(mechanism: .external)
        #expect(empty.start(initialResponse: []) == .done(SASLCredentials(authorizationID: "", authenticationID: "",
                                                                             password: "")))
        var asked = SASLServerExchange(mechanism: .external)
        #expect(asked.start(initialResponse: nil) == .challenge([]))
        #expect(asked.respond(Array("alice".utf8)) == .done(SASLCredentials(authorizationID: "alice",
                                                                              authenticationID: "", password: "")))
        var nul = SASLServerExchange(mechanism: .external)
        #expect(nul.start(initialResponse: Array("a\0b".utf8)) == .failed(.malformed))
        var long = SASLServerExchange(mechanism: .external, maxResponseLength: 4)
        #expect(long.start(initialResponse: Array("alice".utf8)) == .failed(.tooLong))
    }

    @Test func emptyInitialResponseGivesEmptyChallenge() {
        var exchange = SASLServerExchange(mechanism: .plain)
        #expect(exchange.start(initialResponse: []) == .challenge([]))
        #expect(exchange.respond(Array("\0u\0p".utf8)) == .done(SASLCredentials(authorizationID: "", authenticationID: "u", password: "p")))
    }

    @Test(arguments: ["\0\0pw", "tim\0pw", "a\0b\0c\0d", "no nul at all", "\0tim\0pw\0"])
    func malformed(_ message: String) {
        #expect(run(message) == .failed(.malformed))
    }

    @Test func invalidUTF8() {
        var exchange = SASLServerExchange(mechanism: .plain)
        #expect(exchange.start(initialResponse: [0, 0xC3, 0x28, 0, 0x41]) == .failed(.malformed))
    }

    @Test func tooLongAndNoReuse() {
        var exchange = SASLServerExchange(mechanism: .plain, maxResponseLength: 8)
        #expect(exchange.start(initialResponse: Array("\0user\0password".utf8)) == .failed(.tooLong))
        #expect(exchange.respond(Array("\0u\0p".utf8)) == .failed(.cancelled))
    }

    @Test func cancel() {
        var exchange = SASLServerExchange(mechanism: .plain)
        _ = exchange.start(initialResponse: nil)
        #expect(exchange.cancel() == .failed(.cancelled))
    }
}

@Suite struct SASLLoginTests {
    @Test func promptsForUsernameThenPassword() {
        var exchange = SASLServerExchange(mechanism: .login)
        #expect(exchange.start(initialResponse: nil) == .challenge(Array("Username:".utf8)))
        #expect(exchange.respond(Array("bob".utf8)) == .challenge(Array("Password:".utf8)))
        #expect(exchange.respond(Array("s3cret pw".utf8)) == .done(SASLCredentials(authorizationID: "", authenticationID: "bob", password: "s3cret pw")))
        #expect(exchange.respond([]) == .failed(.cancelled))
    }

    @Test func initialResponseIsUsername() {
        var exchange = SASLServerExchange(mechanism: .login)
        #expect(exchange.start(initialResponse: Array("bob".utf8)) == .challenge(Array("Password:".utf8)))
        #expect(exchange.respond([]) == .done(SASLCredentials(authorizationID: "", authenticationID: "bob", password: "")))
    }

    @Test func malformedInput() {
        var a = SASLServerExchange(mechanism: .login)
        #expect(a.start(initialResponse: []) == .failed(.malformed))
        var b = SASLServerExchange(mechanism: .login)
        _ = b.start(initialResponse: nil)
        #expect(b.respond(Array("bo\0b".utf8)) == .failed(.malformed))
        var c = SASLServerExchange(mechanism: .login)
        _ = c.start(initialResponse: nil)
        _ = c.respond(Array("bob".utf8))
        #expect(c.respond([0xFF, 0xFE]) == .failed(.malformed))
        var d = SASLServerExchange(mechanism: .login, maxResponseLength: 4)
        _ = d.start(initialResponse: nil)
        #expect(d.respond(Array("longname".utf8)) == .failed(.tooLong))
    }
}
