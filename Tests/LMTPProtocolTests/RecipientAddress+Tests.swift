import AerieTestSupport
import Testing

@testable import LMTPProtocol

@Suite("RecipientAddress")
struct RecipientAddressTests {
    struct Fixture: CustomTestStringConvertible, Sendable {
        var address: String
        var delimiters: String
        var user: String
        var detail: String?
        var domain: String?
        var testDescription: String { "\(address) [\(delimiters)]" }
    }

    static let fixtures: [Fixture] = [
        Fixture(address: "bob@example.org", delimiters: "+", user: "bob", detail: nil, domain: "example.org"),
        Fixture(address: "bob+lists@example.org", delimiters: "+", user: "bob", detail: "lists", domain: "example.org"),
        Fixture(address: "bob+a+b@example.org", delimiters: "+", user: "bob", detail: "a+b", domain: "example.org"),
        Fixture(address: "bob-lists@example.org", delimiters: "+", user: "bob-lists", detail: nil, domain: "example.org"),
        Fixture(address: "bob-lists+x@example.org", delimiters: "+-", user: "bob", detail: "lists+x", domain: "example.org"),
        Fixture(address: "bob+@example.org", delimiters: "+", user: "bob", detail: nil, domain: "example.org"),
        Fixture(address: "+bob@example.org", delimiters: "+", user: "+bob", detail: nil, domain: "example.org"),
        Fixture(address: "bob+x@example.org", delimiters: "", user: "bob+x", detail: nil, domain: "example.org"),
        Fixture(address: "Postmaster", delimiters: "+", user: "Postmaster", detail: nil, domain: nil),
        Fixture(address: "\"john doe\"@example.org", delimiters: "+", user: "john doe", detail: nil, domain: "example.org"),
        Fixture(address: "\"a@b+c\"@example.org", delimiters: "+", user: "a@b", detail: "c", domain: "example.org"),
        Fixture(address: "\"q\\\"x\"@d", delimiters: "+", user: "q\"x", detail: nil, domain: "d"),
        Fixture(address: "josé+ñ@exämple.org", delimiters: "+", user: "josé", detail: "ñ", domain: "exämple.org"),
        Fixture(address: "user@[192.0.2.1]", delimiters: "+", user: "user", detail: nil, domain: "[192.0.2.1]"),
    ]

    @Test(arguments: fixtures)
    func split(_ fixture: Fixture) {
        let parts = RecipientAddress.split(fixture.address, delimiters: fixture.delimiters)
        #expect(parts.user == fixture.user)
        #expect(parts.detail == fixture.detail)
        #expect(parts.domain == fixture.domain)
    }

    @Test func splitsWhatTheParserReturns() throws {
        guard case .rcptTo(let address, _) = try LMTPCommand.parse(bytes("RCPT TO:<@relay:bob+spam@example.org>")) else {
            Issue.record("not RCPT")
            return
        }
        let parts = RecipientAddress.split(address, delimiters: "+")
        #expect(parts.user == "bob" && parts.detail == "spam" && parts.domain == "example.org")
    }
}
