import AerieAuth
import IMAPProtocol
import IMAPSession
import Testing

/// RFC 8437: UNAUTHENTICATE takes a connection back to the not-authenticated state.
@Suite struct UnauthenticateTests {
    let other = AuthenticatedUser(user: "other", uid: 1501, gid: 1501, home: "/home/other", extraFields: [:])

    func loggedIn(_ transcript: inout Transcript, as user: AuthenticatedUser = demo) {
        _ = transcript.send("a LOGIN \(user.user) secret")
        _ = transcript.finish(.success(user))
    }

    @Test func beforeLoginItIsBad() {
        var transcript = Transcript(tls: true)
        let actions = transcript.send("a UNAUTHENTICATE")
        #expect(lines(actions) == ["a BAD UNAUTHENTICATE is valid only after login."])
        #expect(!actions.contains(.loggedOut(demo)))
    }

    @Test func advertisedOnlyAfterLogin() {
        var transcript = Transcript(tls: true)
        #expect(!lines(transcript.send("a CAPABILITY"))[0].split(separator: " ").contains("UNAUTHENTICATE"))
        loggedIn(&transcript)
        #expect(lines(transcript.send("b CAPABILITY"))[0].split(separator: " ").contains("UNAUTHENTICATE"))
        _ = transcript.send("c UNAUTHENTICATE")
        #expect(!lines(transcript.send("d CAPABILITY"))[0].split(separator: " ").contains("UNAUTHENTICATE"))
    }

    /// RFC 8437 §8: `imap_unauthenticate = no` takes the command away: not advertised, refused, the user stays.
    @Test func disabledItIsNeitherAdvertisedNorAccepted() {
        var transcript = Transcript(tls: true, settings: .init(unauthenticate: false))
        loggedIn(&transcript)
        #expect(!lines(transcript.send("b CAPABILITY"))[0].split(separator: " ").contains("UNAUTHENTICATE"))
        let actions = transcript.send("c UNAUTHENTICATE")
        #expect(lines(actions) == ["c BAD UNAUTHENTICATE is disabled."])
        #expect(!actions.contains(.loggedOut(demo)))
        #expect(transcript.session.isAuthenticated)
    }

    @Test func endsTheUserSessionThenAnotherUserCanLogIn() {
        var transcript = Transcript(tls: true)
        loggedIn(&transcript)
        let actions = transcript.send("b UNAUTHENTICATE")
        // The transport drops the mail session and the user's slot before the OK goes out.
        #expect(actions == [.loggedOut(demo), .send(.tagged(IMAPTag("b")!, .ok, nil, "Unauthenticate completed."))])
        #expect(!transcript.session.isAuthenticated)
        #expect(transcript.session.authenticatedUser == nil)
        #expect(lines(transcript.send("c SELECT INBOX")) == ["c BAD SELECT is not valid before login."])
        #expect(authRequest(transcript.send("d LOGIN other secret2"))?.user == "other")
        let login = transcript.finish(.success(other))
        #expect(login.first == .loggedIn(other))
        #expect(lines(login)[0].hasSuffix("] Logged in"))
        #expect(transcript.session.loginLogLine(processID: 42).hasPrefix("Login: user=<other>, method=PLAIN, "))
        let select = transcript.send("e SELECT INBOX")
        #expect(select.count == 1)
        guard case .mailCommand = select.first else {
            Issue.record("SELECT after the second login did not reach the mail session: \(select)")
            return
        }
    }

    @Test func tlsStaysAndTheLoginRulesAreTheFirstOnes() {
        var transcript = Transcript()
        _ = transcript.send("s STARTTLS")
        transcript.session.tlsEstablished()
        loggedIn(&transcript)
        _ = transcript.send("b UNAUTHENTICATE")
        let capabilities = lines(transcript.send("c CAPABILITY"))[0].split(separator: " ")
        #expect(capabilities.contains("AUTH=PLAIN"))
        #expect(!capabilities.contains("STARTTLS"))
        #expect(!capabilities.contains("LOGINDISABLED"))
        #expect(lines(transcript.send("d STARTTLS")) == ["d BAD TLS is already active."])
        #expect(authRequest(transcript.send("e AUTHENTICATE PLAIN AG90aGVyAHNlY3JldDI="))?.user == "other")
    }

    @Test func plaintextWithoutTLSStaysRefused() {
        // Only a configuration allowing cleartext can log in without TLS; without TLS and without that setting a
        // client can never reach UNAUTHENTICATE, and LOGIN keeps being refused.
        var transcript = Transcript()
        #expect(lines(transcript.send("a UNAUTHENTICATE")) == ["a BAD UNAUTHENTICATE is valid only after login."])
        #expect(
            lines(transcript.send("b LOGIN demo secret")) == [
                "b NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
            ])
    }

    @Test func compressionEndsAfterTheOK() {
        var transcript = Transcript(tls: true)
        loggedIn(&transcript)
        _ = transcript.send("b COMPRESS DEFLATE")
        let actions = transcript.send("c UNAUTHENTICATE")
        #expect(lines(actions) == ["c OK Unauthenticate completed."])
        // RFC 8437 §4.1: the OK is the last compressed response.
        #expect(actions.last == .stopCompression)
        #expect(!transcript.session.compressionActive)
        loggedIn(&transcript, as: other)
        let again = transcript.send("d COMPRESS DEFLATE")
        #expect(lines(again) == ["d OK Begin compression."])
        #expect(again.last == .startCompression)
    }

    @Test func withoutCompressionNothingStops() {
        var transcript = Transcript(tls: true)
        loggedIn(&transcript)
        #expect(!transcript.send("b UNAUTHENTICATE").contains(.stopCompression))
    }

    @Test func wrongPasswordsStillCountTowardsTheLimit() {
        var transcript = Transcript(tls: true)
        for attempt in 1...2 {
            _ = transcript.send("f\(attempt) LOGIN demo wrong")
            _ = transcript.finish(.failure(.passwordMismatch))
        }
        loggedIn(&transcript)
        _ = transcript.send("u UNAUTHENTICATE")
        _ = transcript.send("g LOGIN demo wrong")
        let actions = transcript.finish(.failure(.passwordMismatch))
        #expect(actions.last == .close(reason: "Too many invalid authentication attempts"))
    }

    @Test func disconnectAfterwardsIsLoggedAsALoginPhase() {
        var transcript = Transcript(tls: true)
        loggedIn(&transcript)
        _ = transcript.send("b UNAUTHENTICATE")
        let line = transcript.session.disconnectLogLine(reason: "Connection closed", elapsedSeconds: 3)
        #expect(line.hasPrefix("Disconnected: Connection closed (no auth attempts in 3 secs): rip=192.0.2.7"))
        #expect(!line.contains("user=<demo>"))
    }
}
