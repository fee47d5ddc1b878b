import AerieAuth
import AerieCore
import POP3Session
import Testing

/// SCRAM over POP3 AUTH (RFC 5034 §4, RFC 7677): lines relayed to the auth process, the final data as a challenge.
@Suite struct POP3RemoteSASLTests {
    static let settings = POP3SessionSettings(auth: LoginAuthSettings(mechanisms: [.plain, .scramSHA256]))

    func step(_ actions: [POP3SessionAction]) -> SASLStepRequest? {
        for action in actions { if case .saslStep(let request) = action { return request } }
        return nil
    }

    @Test func fullExchangeAndCapa() throws {
        var transcript = Transcript(tls: true, settings: Self.settings)
        #expect(lines(transcript.send("CAPA")).contains("SASL PLAIN SCRAM-SHA-256"))
        #expect(lines(transcript.send("AUTH SCRAM-SHA-256")) == ["+ "])
        #expect(transcript.session.expectsSASLResponse)
        let first = try #require(step(transcript.send("biwsbj1kZW1vLHI9YWJj")))
        #expect(first.exchange == 0 && first.context.service == "pop3")
        #expect(
            lines(transcript.session.saslStepFinished(.challenge(exchange: 3, user: "demo", Array("r=abcd".utf8))))
                == ["+ cj1hYmNk"])
        let final = try #require(step(transcript.send("Yz1iaXdz")))
        #expect(final.exchange == 3)
        #expect(
            lines(transcript.session.saslStepFinished(.finished(.success(demo), serverFinal: Array("v=x".utf8))))
                == ["+ dj14"])
        let done = transcript.send("")
        #expect(done.contains(.loggedIn(demo)) && lines(done) == ["+OK Logged in."])
    }

    @Test func failedProofIsAnAuthFailure() throws {
        var transcript = Transcript(tls: true, settings: Self.settings)
        _ = try #require(step(transcript.send("AUTH SCRAM-SHA-256 biwsbj1kZW1vLHI9YWJj")))
        _ = transcript.session.saslStepFinished(.challenge(exchange: 3, user: "demo", Array("r=abcd".utf8)))
        _ = transcript.send("Yz1iaXdz")
        let failed = transcript.session.saslStepFinished(.finished(.failure(.passwordMismatch), serverFinal: nil))
        #expect(lines(failed) == ["-ERR [AUTH] Authentication failed."])
        #expect(transcript.session.authFailures == 1)
    }

    /// RFC 7628 over POP3 AUTH: the error JSON as a continuation, the empty dummy response, then -ERR.
    @Test func xoauth2FailureFlow() throws {
        let settings = POP3SessionSettings(auth: LoginAuthSettings(mechanisms: [.plain, .xoauth2]))
        var transcript = Transcript(tls: true, settings: settings)
        #expect(lines(transcript.send("CAPA")).contains("SASL PLAIN XOAUTH2"))
        #expect(lines(transcript.send("AUTH XOAUTH2")) == ["+ "])
        let first = try #require(step(transcript.send("dXNlcj1kZW1vAWF1dGg9QmVhcmVyIHQBAQ==")))
        #expect(first.exchange == 0 && first.context.mechanism == "XOAUTH2" && first.context.service == "pop3")
        _ = transcript.session.saslStepFinished(.challenge(exchange: 4, user: "demo", Array("{}".utf8)))
        let dummy = try #require(step(transcript.send("")))
        #expect(dummy.exchange == 4 && dummy.response.isEmpty)
        let failed = transcript.session.saslStepFinished(.finished(.failure(.passwordMismatch), serverFinal: nil))
        #expect(lines(failed) == ["-ERR [AUTH] Authentication failed."])
    }
}
