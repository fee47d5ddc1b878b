import AerieAuth
import AerieCore
import IMAPSession
import Testing

/// RFC 4422 Appendix A over IMAP AUTHENTICATE (RFC 9051 §6.2.2): EXTERNAL logs in as the verified certificate's
/// name, and only there.
@Suite struct ExternalTests {
    static let settings = IMAPSessionSettings(auth: LoginAuthSettings(mechanisms: [.plain, .external]))

    func session(certificate: String?) -> Transcript {
        var transcript = Transcript(tls: true, settings: Self.settings)
        transcript.session.tlsEstablished(clientCertificateUser: certificate)
        return transcript
    }

    @Test func offeredOnlyWithAVerifiedCertificate() {
        #expect(lines(session(certificate: "alice").session.greeting())[0].contains(" AUTH=EXTERNAL"))
        let without = session(certificate: nil)
        #expect(!lines(without.session.greeting())[0].contains("AUTH=EXTERNAL"))
        var transcript = without
        #expect(lines(transcript.send("a AUTHENTICATE EXTERNAL =")) == ["a NO Unsupported authentication mechanism."])
    }

    @Test(arguments: ["a AUTHENTICATE EXTERNAL =", "a AUTHENTICATE EXTERNAL YWxpY2U="])
    func logsInAsTheCertificateName(_ command: String) throws {
        var transcript = session(certificate: "alice")
        let request = try #require(authRequest(transcript.send(command)))
        #expect(request.user == "alice" && request.password.isEmpty && request.mechanism == "EXTERNAL")
        #expect(request.certificateVerified)
    }

    @Test func continuationCarriesTheAuthzid() throws {
        var transcript = session(certificate: "alice")
        #expect(lines(transcript.send("a AUTHENTICATE EXTERNAL")) == ["+ "])
        let request = try #require(authRequest(transcript.send("")))
        #expect(request.user == "alice" && request.certificateVerified)
    }

    /// Another user's name as authzid would be a proxy login: refused without asking the auth process.
    @Test func anotherAuthzidIsRefused() {
        var transcript = session(certificate: "alice")
        let out = transcript.send("a AUTHENTICATE EXTERNAL Ym9i")  // "bob"
        #expect(authRequest(out) == nil)
        #expect(lines(out).last?.hasPrefix("a NO [AUTHENTICATIONFAILED]") == true)
    }

    @Test func passwordLoginsAreNeverCertificateVerified() throws {
        var transcript = session(certificate: "alice")
        let request = try #require(authRequest(transcript.send("a AUTHENTICATE PLAIN AGRlbW8Ac2VjcmV0")))
        #expect(request.user == "demo" && !request.certificateVerified)
    }
}
