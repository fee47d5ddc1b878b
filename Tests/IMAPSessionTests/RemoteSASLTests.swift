import AerieAuth
import AerieCore
import IMAPSession
import Testing

/// SCRAM over AUTHENTICATE (RFC 9051 §6.2.2, RFC 7677): the session relays lines to the auth process and sends the
/// server's final data as a last challenge.
@Suite struct RemoteSASLTests {
    static let settings = IMAPSessionSettings(auth: LoginAuthSettings(mechanisms: [.plain, .scramSHA256]))

    func step(_ actions: [IMAPSessionAction]) -> SASLStepRequest? {
        for action in actions { if case .saslStep(let request) = action { return request } }
        return nil
    }

    @Test func offeredOnlyWhenConfigured() {
        let scram = lines(Transcript(tls: true, settings: Self.settings).session.greeting())[0]
        #expect(scram.contains(" AUTH=SCRAM-SHA-256"))
        #expect(!lines(Transcript(tls: true).session.greeting())[0].contains("SCRAM"))
        var plainOnly = Transcript(tls: true)
        #expect(lines(plainOnly.send("a AUTHENTICATE SCRAM-SHA-256")) == ["a NO Unsupported authentication mechanism."])
    }

    /// RFC 5802 §6 / RFC 9266: -PLUS only where the connection has binding data (TLS 1.3), and the data goes to
    /// the auth process with every SCRAM step there (plain SCRAM needs it to refuse a "y" downgrade).
    @Test func plusNeedsChannelBindingData() throws {
        let settings = IMAPSessionSettings(auth: LoginAuthSettings(mechanisms: [.scramSHA256, .scramSHA256Plus]))
        var without = Transcript(tls: true, settings: settings)
        without.session.tlsEstablished(channelBinding: nil)
        #expect(!lines(without.session.greeting())[0].contains("SCRAM-SHA-256-PLUS"))
        let refused = lines(without.send("a AUTHENTICATE SCRAM-SHA-256-PLUS"))
        #expect(refused == ["a NO Unsupported authentication mechanism."])
        let plain = try #require(step(without.send("b AUTHENTICATE SCRAM-SHA-256 biwsbj1kZW1vLHI9YWJj")))
        #expect(plain.channelBinding == nil)

        var with = Transcript(tls: true, settings: settings)
        with.session.tlsEstablished(channelBinding: [1, 2, 3])
        #expect(lines(with.session.greeting())[0].contains(" AUTH=SCRAM-SHA-256-PLUS"))
        // "p=tls-exporter,,n=demo,r=abc"
        let command = "a AUTHENTICATE SCRAM-SHA-256-PLUS cD10bHMtZXhwb3J0ZXIsLG49ZGVtbyxyPWFiYw=="
        let plus = try #require(step(with.send(command)))
        #expect(plus.context.mechanism == "SCRAM-SHA-256-PLUS" && plus.channelBinding == [1, 2, 3])
    }

    @Test func fullExchange() throws {
        var transcript = Transcript(tls: true, settings: Self.settings)
        #expect(lines(transcript.send("a AUTHENTICATE SCRAM-SHA-256")) == ["+ "])
        #expect(transcript.session.expectsSASLResponse)
        // "n,,n=demo,r=abc"
        let first = try #require(step(transcript.send("biwsbj1kZW1vLHI9YWJj")))
        #expect(
            first.exchange == 0 && first.context.mechanism == "SCRAM-SHA-256" && first.context.remoteIP == "192.0.2.7")
        #expect(first.response == Array("n,,n=demo,r=abc".utf8))
        #expect(!transcript.session.expectsSASLResponse)
        let challenge = transcript.session.saslStepFinished(.challenge(exchange: 5, user: "demo", Array("r=abcd".utf8)))
        #expect(lines(challenge) == ["+ cj1hYmNk"])
        let final = try #require(step(transcript.send("Yz1iaXdz")))
        #expect(final.exchange == 5 && final.response == Array("c=biws".utf8))
        let verified = transcript.session.saslStepFinished(.finished(.success(demo), serverFinal: Array("v=x".utf8)))
        #expect(lines(verified) == ["+ dj14"])
        #expect(!transcript.session.isAuthenticated)
        let done = transcript.send("")
        #expect(done.contains(.loggedIn(demo)))
        #expect(lines(done).last?.hasPrefix("a OK [CAPABILITY") == true)
        #expect(transcript.session.lastAttemptedUser == "demo")
    }

    @Test func failureAndInitialResponse() throws {
        var transcript = Transcript(tls: true, settings: Self.settings)
        let first = try #require(step(transcript.send("a AUTHENTICATE SCRAM-SHA-256 biwsbj1kZW1vLHI9YWJj")))
        #expect(first.exchange == 0)
        _ = transcript.session.saslStepFinished(.challenge(exchange: 5, user: "demo", Array("r=abcd".utf8)))
        _ = transcript.send("Yz1iaXdz")
        let failed = transcript.session.saslStepFinished(.finished(.failure(.passwordMismatch), serverFinal: nil))
        #expect(lines(failed) == ["a NO [AUTHENTICATIONFAILED] Authentication failed."])
        #expect(transcript.session.authFailures == 1)
    }

    @Test func dataAfterTheFinalChallengeOrCancelFails() {
        var transcript = Transcript(tls: true, settings: Self.settings)
        _ = transcript.send("a AUTHENTICATE SCRAM-SHA-256 biwsbj1kZW1vLHI9YWJj")
        _ = transcript.session.saslStepFinished(.finished(.success(demo), serverFinal: Array("v=x".utf8)))
        #expect(lines(transcript.send("eA==")).first?.hasPrefix("a BAD ") == true)
        #expect(!transcript.session.isAuthenticated)
        _ = transcript.send("b AUTHENTICATE SCRAM-SHA-256")
        #expect(lines(transcript.send("*")) == ["b BAD Authentication aborted by client."])
    }

    /// RFC 7628 §3.2.2: a refused token's error JSON is a challenge; the dummy response (%x01) goes to the auth
    /// process, whose failure is the tagged NO. A good token logs in with no final challenge.
    @Test func oauthBearerRelayedToTheAuthProcess() throws {
        let settings = IMAPSessionSettings(auth: LoginAuthSettings(mechanisms: [.plain, .oauthBearer, .xoauth2]))
        let greeting = lines(Transcript(tls: true, settings: settings).session.greeting())[0]
        #expect(greeting.contains(" AUTH=OAUTHBEARER AUTH=XOAUTH2"))
        #expect(!lines(Transcript(tls: false, settings: settings).session.greeting())[0].contains("OAUTHBEARER"))
        var transcript = Transcript(tls: true, settings: settings)
        // "n,,\x01auth=Bearer t\x01\x01"
        let first = try #require(step(transcript.send("a AUTHENTICATE OAUTHBEARER biwsAWF1dGg9QmVhcmVyIHQBAQ==")))
        #expect(first.exchange == 0 && first.context.mechanism == "OAUTHBEARER")
        let error = transcript.session.saslStepFinished(
            .challenge(exchange: 9, user: "", Array(#"{"status":"invalid_token"}"#.utf8)))
        #expect(lines(error) == ["+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0="])
        let dummy = try #require(step(transcript.send("AQ==")))
        #expect(dummy.exchange == 9 && dummy.response == [0x01])
        let failed = transcript.session.saslStepFinished(.finished(.failure(.passwordMismatch), serverFinal: nil))
        #expect(lines(failed) == ["a NO [AUTHENTICATIONFAILED] Authentication failed."])
        _ = try #require(step(transcript.send("b AUTHENTICATE XOAUTH2 dXNlcj1kZW1vAWF1dGg9QmVhcmVyIHQBAQ==")))
        let done = transcript.session.saslStepFinished(.finished(.success(demo), serverFinal: nil))
        #expect(done.contains(.loggedIn(demo)))
        #expect(lines(done).last?.hasPrefix("b OK [CAPABILITY") == true)
    }
}
