import AerieCore
import AerieAuth
import IMAPProtocol
import IMAPSession
import Testing

/// A session driven as a transcript: lines in, the exact lines (and transport actions) out.
struct Transcript {
    var session: IMAPSession

    init(
        tls: Bool = false, startTLSAvailable: Bool = true,
        settings: IMAPSessionSettings = .init(auth: LoginAuthSettings(mechanisms: [.plain, .login]))
    ) {
        session = IMAPSession(
            settings: settings,
            context: ConnectionContext(
                remoteIP: "192.0.2.7", localIP: "192.0.2.1", sessionID: "AbCdEfGhIjKl", isTLS: tls,
                startTLSAvailable: startTLSAvailable))
    }

    mutating func send(_ line: String) -> [IMAPSessionAction] {
        session.receive(Array(line.utf8))
    }

    mutating func finish(_ result: AuthResult) -> [IMAPSessionAction] {
        session.authenticationFinished(result)
    }
}

/// The lines a client would read, in order.
func lines(_ actions: [IMAPSessionAction]) -> [String] {
    actions.compactMap { action -> String? in
        guard case .send(let response) = action else { return nil }
        var text = String(decoding: response.bytes, as: UTF8.self)
        if text.hasSuffix("\r\n") { text.removeLast() }
        return text
    }
}

func authRequest(_ actions: [IMAPSessionAction]) -> AuthRequest? {
    for action in actions { if case .authenticate(let request) = action { return request } }
    return nil
}

let demo = AuthenticatedUser(user: "demo", uid: 1500, gid: 1500, home: "/home/demo", extraFields: [:])

@Suite struct GreetingAndCapabilityTests {
    @Test func plaintextConnectionOffersStartTLSAndDisablesLogin() {
        let transcript = Transcript()
        let greeting = lines(transcript.session.greeting())
        #expect(greeting.count == 1)
        #expect(greeting[0].hasPrefix("* OK [CAPABILITY IMAP4rev2 IMAP4rev1 "))
        #expect(greeting[0].contains(" STARTTLS"))
        #expect(greeting[0].contains(" LOGINDISABLED"))
        #expect(!greeting[0].contains("AUTH="))
        #expect(greeting[0].hasSuffix("] Aerie ready."))
    }

    @Test func tlsConnectionOffersMechanismsButNotStartTLS() {
        var transcript = Transcript(tls: true, startTLSAvailable: false)
        let out = lines(transcript.send("a1 CAPABILITY"))
        #expect(out.count == 2)
        #expect(out[0].contains("AUTH=PLAIN AUTH=LOGIN"))
        #expect(out[0].contains("SASL-IR"))
        #expect(!out[0].contains("STARTTLS"))
        #expect(!out[0].contains("LOGINDISABLED"))
        #expect(out[1] == "a1 OK Capability completed.")
    }

    @Test func idNamesTheSoftwareWithoutAVersion() {
        var transcript = Transcript()
        #expect(lines(transcript.send("a ID NIL")) == ["* ID (\"name\" \"Aerie\")", "a OK ID completed."])
    }

    @Test func logoutBeforeLoginSaysByeAndCloses() {
        var transcript = Transcript()
        let actions = transcript.send("z LOGOUT")
        #expect(lines(actions) == ["* BYE Logging out", "z OK Logout completed."])
        #expect(actions.last == .close(reason: "Aborted login by logging out"))
    }
}

@Suite struct CleartextRefusalTests {
    @Test func loginBeforeTLSIsRefusedWithPrivacyRequired() {
        var transcript = Transcript()
        let actions = transcript.send("a LOGIN demo secret")
        #expect(authRequest(actions) == nil)
        #expect(lines(actions) == ["a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."])
        #expect(transcript.session.disconnectLogLine(reason: "Connection closed", elapsedSeconds: 1).contains("(tried to use disallowed plaintext auth)"))
    }

    @Test func authenticateBeforeTLSIsRefusedWithPrivacyRequired() {
        var transcript = Transcript()
        let out = lines(transcript.send("a AUTHENTICATE PLAIN AGRlbW8Ac2VjcmV0"))
        #expect(out == ["a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."])
    }

    @Test func startTLSOnAPlainListenerSwitchesAfterTheOK() {
        var transcript = Transcript()
        let actions = transcript.send("t STARTTLS")
        #expect(lines(actions) == ["t OK Begin TLS negotiation now."])
        #expect(actions.last == .startTLS)
        transcript.session.tlsEstablished()
        let again = lines(transcript.send("u STARTTLS"))
        #expect(again == ["u BAD TLS is already active."])
    }

    @Test func explicitCleartextSettingAllowsLoginWithoutTLS() {
        var transcript = Transcript(settings: .init(auth: LoginAuthSettings(mechanisms: [.plain], allowCleartextWithoutTLS: true)))
        #expect(authRequest(transcript.send("a LOGIN demo secret"))?.user == "demo")
    }
}

@Suite struct LoginTests {
    @Test func successfulLoginReportsUserAndCapabilities() {
        var transcript = Transcript(tls: true)
        let request = authRequest(transcript.send("a LOGIN demo secret"))
        #expect(request?.user == "demo")
        #expect(request?.password == "secret")
        #expect(request?.remoteIP == "192.0.2.7")
        #expect(request?.secured == true)
        let actions = transcript.finish(.success(demo))
        #expect(actions.first == .loggedIn(demo))
        let out = lines(actions)
        #expect(out.count == 1)
        #expect(out[0].hasPrefix("a OK [CAPABILITY IMAP4rev2 "))
        #expect(out[0].hasSuffix("] Logged in"))
        #expect(transcript.session.isAuthenticated)
        #expect(transcript.session.loginLogLine(processID: 42)
            == "Login: user=<demo>, method=PLAIN, rip=192.0.2.7, lip=192.0.2.1, mpid=42, TLS, session=<AbCdEfGhIjKl>")
        let logout = transcript.send("b LOGOUT")
        #expect(logout.last == .close(reason: "Logged out"))
        // Still known after LOGOUT, so the disconnect is logged as the user's session, not as a failed login.
        #expect(transcript.session.authenticatedUser == demo)
    }

    /// The authenticator answers a failure at its fixed time after the request: the session adds no second delay.
    @Test func authenticatorFailureIsAnsweredAtOnce() {
        var transcript = Transcript(tls: true)
        _ = transcript.send("a LOGIN demo wrong")
        let actions = transcript.finish(.failure(.passwordMismatch))
        #expect(!actions.contains { if case .sleep = $0 { true } else { false } })
        #expect(lines(actions) == ["a NO [AUTHENTICATIONFAILED] Authentication failed."])
    }

    @Test func everyFailureKindLooksTheSame() {
        for failure in [AuthFailure.unknownUser, .uidNotPermitted, .schemeNotAllowed, .denied, .passwordMismatch] {
            var transcript = Transcript(tls: true)
            _ = transcript.send("a LOGIN someone wrong")
            #expect(lines(transcript.finish(.failure(failure))) == ["a NO [AUTHENTICATIONFAILED] Authentication failed."])
        }
    }

    @Test func thirdFailureClosesTheConnectionAndTheLogLineCountsAttempts() {
        var transcript = Transcript(tls: true)
        for attempt in 1...3 {
            _ = transcript.send("a\(attempt) LOGIN mallory guess\(attempt)")
            let actions = transcript.finish(.failure(.passwordMismatch))
            if attempt < 3 {
                #expect(!actions.contains(.close(reason: "Too many invalid authentication attempts")))
            } else {
                #expect(lines(actions).last == "* BYE Too many invalid authentication attempts.")
                #expect(actions.last == .close(reason: "Too many invalid authentication attempts"))
            }
        }
        let line = transcript.session.disconnectLogLine(reason: "Too many invalid authentication attempts", elapsedSeconds: 6)
        #expect(line == "Disconnected: Too many invalid authentication attempts (auth failed, 3 attempts in 6 secs): user=<mallory>, method=PLAIN, rip=192.0.2.7, lip=192.0.2.1, TLS, session=<AbCdEfGhIjKl>")
        #expect(!line.contains("guess"))
    }

    @Test func temporaryFailureIsNotCountedAsABadPassword() {
        var transcript = Transcript(tls: true)
        _ = transcript.send("a LOGIN demo secret")
        let out = lines(transcript.finish(.failure(.temporaryFailure)))
        #expect(out == ["a NO [UNAVAILABLE] Temporary authentication failure. Try again later."])
        #expect(transcript.session.authFailures == 0)
    }

    @Test func loginRefusedByTheAdministratorIsATemporaryFailureWithTheReason() {
        var transcript = Transcript(tls: true)
        _ = transcript.send("a LOGIN demo secret")
        #expect(
            lines(transcript.session.loginRefused(reason: "Maintenance\r\n* BYE"))
                == ["a NO [UNAVAILABLE] Maintenance  * BYE"])
        #expect(transcript.session.authFailures == 0)
        #expect(!transcript.session.isAuthenticated)
        #expect(transcript.session.loginRefused(reason: "again").isEmpty, "no login in progress: nothing to answer")
    }

    @Test func loginAfterLoginIsBad() {
        var transcript = Transcript(tls: true)
        _ = transcript.send("a LOGIN demo secret")
        _ = transcript.finish(.success(demo))
        #expect(lines(transcript.send("b LOGIN demo secret")) == ["b BAD Already logged in."])
    }

    @Test func mailboxCommandsAfterLoginGoToTheMailSession() throws {
        var transcript = Transcript(tls: true)
        _ = transcript.send("a LOGIN demo secret")
        _ = transcript.finish(.success(demo))
        let actions = transcript.send("b SELECT INBOX")
        #expect(actions.count == 1)
        guard case .mailCommand(let command) = actions.first else {
            Issue.record("SELECT was not handed to the mail session: \(actions)")
            return
        }
        #expect(command.tag.rawValue == "b")
    }
}

@Suite struct AuthenticateTests {
    @Test func plainWithInitialResponse() {
        var transcript = Transcript(tls: true)
        // "\0demo\0secret"
        let request = authRequest(transcript.send("a AUTHENTICATE PLAIN AGRlbW8Ac2VjcmV0"))
        #expect(request?.user == "demo")
        #expect(request?.password == "secret")
        #expect(request?.mechanism == "PLAIN")
    }

    @Test func plainWithContinuation() {
        var transcript = Transcript(tls: true)
        #expect(lines(transcript.send("a AUTHENTICATE PLAIN")) == ["+ "])
        #expect(transcript.session.expectsSASLResponse)
        let request = authRequest(transcript.send("AGRlbW8Ac2VjcmV0"))
        #expect(request?.user == "demo")
    }

    @Test func loginMechanismAsksForUserNameThenPassword() {
        var transcript = Transcript(tls: true)
        #expect(lines(transcript.send("a AUTHENTICATE LOGIN")) == ["+ VXNlcm5hbWU6"])
        #expect(lines(transcript.send("ZGVtbw==")) == ["+ UGFzc3dvcmQ6"])
        let request = authRequest(transcript.send("c2VjcmV0"))
        #expect(request?.user == "demo")
        #expect(request?.password == "secret")
        #expect(request?.mechanism == "LOGIN")
    }

    @Test func starCancelsWithBad() {
        var transcript = Transcript(tls: true)
        _ = transcript.send("a AUTHENTICATE PLAIN")
        #expect(lines(transcript.send("*")) == ["a BAD Authentication aborted by client."])
        #expect(!transcript.session.expectsSASLResponse)
    }

    @Test func invalidBase64IsBad() {
        var transcript = Transcript(tls: true)
        _ = transcript.send("a AUTHENTICATE PLAIN")
        let out = lines(transcript.send("!!!not base64"))
        #expect(out.count == 1)
        #expect(out[0].hasPrefix("a BAD "))
    }

    @Test func unknownMechanismIsRefused() {
        var transcript = Transcript(tls: true)
        #expect(lines(transcript.send("a AUTHENTICATE CRAM-MD5")) == ["a NO Unsupported authentication mechanism."])
    }

    @Test func actingAsAnotherUserIsRefused() {
        var transcript = Transcript(tls: true)
        // "admin\0demo\0secret": authzid admin, authcid demo
        let actions = transcript.send("a AUTHENTICATE PLAIN YWRtaW4AZGVtbwBzZWNyZXQ=")
        #expect(authRequest(actions) == nil)
        #expect(lines(actions) == ["a NO [AUTHENTICATIONFAILED] Authentication failed."])
    }
}

@Suite struct BadInputTests {
    @Test func tenInvalidCommandsBeforeLoginCloseTheConnection() {
        var transcript = Transcript()
        var last: [IMAPSessionAction] = []
        for index in 1...10 {
            last = transcript.send("x\(index) FROBNICATE")
            if index < 10 { #expect(!last.contains { if case .close = $0 { true } else { false } }) }
        }
        #expect(lines(last).last == "* BYE Too many invalid IMAP commands.")
        #expect(last.last == .close(reason: "Too many invalid commands"))
    }

    @Test func commandsNeedingLoginAreBadBeforeIt() {
        var transcript = Transcript()
        let out = lines(transcript.send("a SELECT INBOX"))
        #expect(out.count == 1)
        #expect(out[0].hasPrefix("a BAD "))
    }

    @Test func overlongLineEndsTheConnection() {
        var transcript = Transcript()
        let actions = transcript.session.framingFailed(.lineTooLong(tag: nil))
        #expect(lines(actions) == ["* BYE [TOOBIG] Command line too long."])
        #expect(actions.last == .close(reason: "Command line too long"))
    }

    @Test func tooManySynchronizingLiteralsIsBadButKeepsTheConnection() {
        var transcript = Transcript()
        let actions = transcript.session.framingFailed(.tooManyLiterals(tag: "a"))
        #expect(lines(actions) == ["a BAD [TOOBIG] Too many literals."])
        #expect(!actions.contains { if case .close = $0 { true } else { false } })
    }

    @Test func oversizedSynchronizingLiteralIsBadButKeepsTheConnection() {
        var transcript = Transcript()
        let actions = transcript.session.framingFailed(.literalTooLarge(tag: "a", size: 100_000, synchronizing: true))
        #expect(lines(actions) == ["a BAD [TOOBIG] Literal too large."])
        #expect(!actions.contains { if case .close = $0 { true } else { false } })
    }
}

@Suite struct AuthenticatedRoutingTests {
    /// After login, NOOP polls the mailbox and ENABLE needs the mail session's extensions: both go there.
    @Test func noopAndEnableAfterLoginGoToTheMailSession() {
        var transcript = Transcript(tls: true)
        _ = transcript.send("a LOGIN demo secret")
        _ = transcript.finish(.success(demo))
        for line in ["b NOOP", "c ENABLE CONDSTORE"] {
            let actions = transcript.send(line)
            guard case .mailCommand(let command) = actions.first, actions.count == 1 else {
                Issue.record("\(line) was answered by the login session: \(actions)")
                continue
            }
            #expect(command.tag.rawValue == String(line.prefix(1)))
        }
        #expect(lines(Transcript().session.greeting()).count == 1)
    }

    @Test func noopBeforeLoginIsAnsweredAtOnce() {
        var transcript = Transcript()
        #expect(lines(transcript.send("a NOOP")) == ["a OK NOOP completed."])
    }
}

/// RFC 4978: COMPRESS=DEFLATE.
@Suite struct CompressTests {
    func loggedIn() -> Transcript {
        var transcript = Transcript(tls: true)
        _ = transcript.send("a LOGIN demo secret")
        _ = transcript.finish(.success(demo))
        return transcript
    }

    @Test func compressBeforeLoginIsBadAndStartsNothing() {
        var transcript = Transcript(tls: true)
        let actions = transcript.send("a COMPRESS DEFLATE")
        #expect(lines(actions) == ["a BAD COMPRESS is not valid before login."])
        #expect(!actions.contains(.startCompression))
        #expect(!transcript.session.compressionActive)
    }

    @Test func deflateAfterLoginSendsOKThenStartsCompression() {
        var transcript = loggedIn()
        let actions = transcript.send("b COMPRESS DEFLATE")
        #expect(lines(actions) == ["b OK Begin compression."])
        // The OK must leave uncompressed, so the switch comes after it.
        #expect(actions.last == .startCompression)
        #expect(transcript.session.compressionActive)
    }

    @Test func secondCompressIsNoCompressionActive() {
        var transcript = loggedIn()
        _ = transcript.send("b COMPRESS DEFLATE")
        let actions = transcript.send("c COMPRESS DEFLATE")
        #expect(lines(actions) == ["c NO [COMPRESSIONACTIVE] DEFLATE compression is already active."])
        #expect(!actions.contains(.startCompression))
    }

    @Test func unknownAlgorithmIsBad() {
        var transcript = loggedIn()
        let actions = transcript.send("b COMPRESS LZMA")
        #expect(lines(actions) == ["b BAD Unknown compression algorithm."])
        #expect(!transcript.session.compressionActive)
    }

    @Test func capabilitiesAdvertiseDeflateOnlyAfterLogin() {
        var transcript = Transcript(tls: true)
        #expect(!lines(transcript.send("a CAPABILITY"))[0].contains("COMPRESS=DEFLATE"))
        _ = transcript.send("b LOGIN demo secret")
        _ = transcript.finish(.success(demo))
        #expect(lines(transcript.send("c CAPABILITY"))[0].split(separator: " ").contains("COMPRESS=DEFLATE"))
    }
}

@Suite struct HandedOverSessionTests {
    /// Issue 11: the mail service answers the login command the login process authenticated.
    @Test func resumedSessionSendsTheTaggedOKWithAuthenticatedCapabilities() throws {
        var transcript = Transcript(tls: true, startTLSAvailable: false)
        let actions = transcript.session.resumeAuthenticated(demo, tag: try #require(IMAPTag("a1")))
        guard case .loggedIn(let user) = actions.first else { Issue.record("no loggedIn"); return }
        #expect(user == demo)
        let out = lines(actions)
        #expect(out.count == 1)
        #expect(out[0].hasPrefix("a1 OK [CAPABILITY IMAP4rev2 IMAP4rev1 "))
        #expect(out[0].contains(" IDLE ") && !out[0].contains("AUTH="))
        #expect(out[0].hasSuffix("] Logged in"))
        #expect(transcript.session.isAuthenticated)
        let next = transcript.send("b SELECT INBOX")
        #expect(next.contains { if case .mailCommand = $0 { true } else { false } })
    }
}
