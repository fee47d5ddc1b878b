import AerieAuth
import POP3Protocol
import POP3Session
import Testing

@Suite struct POP3GreetingAndCapaTests {
    @Test func greeting() {
        #expect(lines(Transcript().session.greeting()) == ["+OK Aerie ready."])
    }

    @Test func capaBeforeTLSOffersSTLSButNoLogin() {
        var transcript = Transcript()
        #expect(
            lines(transcript.send("CAPA")) == [
                "+OK", "CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "STLS", "IMPLEMENTATION Aerie", ".",
            ])
    }

    @Test func capaAfterTLSOffersUserAndSASL() {
        var transcript = Transcript()
        let actions = transcript.send("STLS")
        #expect(lines(actions) == ["+OK Begin TLS negotiation now."])
        #expect(actions.last == .startTLS)
        transcript.session.tlsEstablished()
        #expect(
            lines(transcript.send("capa")) == [
                "+OK", "CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "USER", "SASL PLAIN LOGIN",
                "IMPLEMENTATION Aerie", ".",
            ])
        #expect(lines(transcript.send("STLS")) == ["-ERR TLS is already active."])
    }

    @Test func implicitTLSHasNoSTLS() {
        var transcript = Transcript(tls: true, startTLSAvailable: false)
        let out = lines(transcript.send("CAPA"))
        #expect(!out.contains("STLS"))
        #expect(out.contains("USER"))
    }

    @Test func cleartextAllowedOffersUserWithoutTLS() {
        var transcript = Transcript(settings: .init(auth: LoginAuthSettings(mechanisms: [.plain, .login], allowCleartextWithoutTLS: true)))
        let out = lines(transcript.send("CAPA"))
        #expect(out.contains("USER") && out.contains("STLS") && out.contains("SASL PLAIN LOGIN"))
    }
}

@Suite struct POP3AuthorizationTests {
    static let refused = "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."

    @Test func userPassAndAuthRefusedBeforeTLS() {
        var transcript = Transcript()
        #expect(lines(transcript.send("USER demo")) == [Self.refused])
        #expect(lines(transcript.send("PASS secret")) == [Self.refused])
        #expect(lines(transcript.send("AUTH PLAIN AGRlbW8Ac2VjcmV0")) == [Self.refused])
        #expect(lines(transcript.send("AUTH LOGIN")) == [Self.refused])
        #expect(!transcript.session.isAuthenticated)
        #expect(
            transcript.session.disconnectLogLine(reason: "Disconnected", elapsedSeconds: 3)
                == "Disconnected: Disconnected (tried to use disallowed LOGIN auth): rip=192.0.2.7, lip=192.0.2.1, session=<AbCdEfGhIjKl>")
    }

    @Test func userPassLogsIn() {
        var transcript = Transcript(tls: true, startTLSAvailable: false)
        #expect(lines(transcript.send("USER demo")) == ["+OK"])
        let actions = transcript.send("PASS secret with spaces")
        let request = authRequest(actions)
        #expect(request?.user == "demo")
        #expect(request?.password == "secret with spaces")
        #expect(request?.service == "pop3")
        #expect(request?.secured == true)
        #expect(transcript.session.receive(Array("STAT".utf8)).isEmpty)  // nothing read while auth runs
        let done = transcript.session.authenticationFinished(.success(demo))
        #expect(done == [.loggedIn(demo), .send(Array("+OK Logged in.\r\n".utf8))])
        #expect(transcript.session.isAuthenticated)
        #expect(transcript.session.authenticatedUser == demo)
        #expect(transcript.send("STAT") == [.mailCommand(.stat)])
        #expect(transcript.send("RETR 1") == [.mailCommand(.retr(1))])
        #expect(transcript.send("top 2 0") == [.mailCommand(.top(msg: 2, lines: 0))])
        #expect(transcript.send("CAPA") == [.mailCommand(.capa)])
        #expect(lines(transcript.send("USER x")) == ["-ERR Already logged in."])
        #expect(lines(transcript.send("RETR x")) == ["-ERR Invalid message number"])
        #expect(transcript.send("QUIT") == [.mailCommand(.quit)])
        #expect(
            transcript.session.loginLogLine(processID: 4242)
                == "Login: user=<demo>, method=PLAIN, rip=192.0.2.7, lip=192.0.2.1, mpid=4242, TLS, session=<AbCdEfGhIjKl>")
    }

    @Test func passWithoutUser() {
        var transcript = Transcript(tls: true)
        #expect(lines(transcript.send("PASS x")) == ["-ERR No username given."])
    }

    @Test func authPlainWithInitialResponse() {
        var transcript = Transcript(tls: true)
        // "\0demo\0secret"
        let request = authRequest(transcript.send("AUTH PLAIN AGRlbW8Ac2VjcmV0"))
        #expect(request?.user == "demo")
        #expect(request?.password == "secret")
        #expect(request?.mechanism == "PLAIN")
    }

    @Test func authPlainWithChallenge() {
        var transcript = Transcript(tls: true)
        #expect(lines(transcript.send("AUTH PLAIN")) == ["+ "])
        #expect(transcript.session.expectsSASLResponse)
        let request = authRequest(transcript.send("AGRlbW8Ac2VjcmV0"))
        #expect(request?.user == "demo")
        #expect(!transcript.session.expectsSASLResponse)
    }

    @Test func authLoginExchange() {
        var transcript = Transcript(tls: true)
        #expect(lines(transcript.send("AUTH LOGIN")) == ["+ VXNlcm5hbWU6"])
        #expect(lines(transcript.send("ZGVtbw==")) == ["+ UGFzc3dvcmQ6"])
        let request = authRequest(transcript.send("c2VjcmV0"))
        #expect(request?.user == "demo")
        #expect(request?.password == "secret")
        #expect(request?.mechanism == "LOGIN")
        _ = transcript.session.authenticationFinished(.success(demo))
        #expect(transcript.session.loginLogLine(processID: 1).contains("method=LOGIN"))
    }

    @Test func starCancelsTheExchange() {
        var transcript = Transcript(tls: true)
        _ = transcript.send("AUTH LOGIN")
        #expect(lines(transcript.send("*")) == ["-ERR Authentication aborted by client."])
        #expect(lines(transcript.send("NOOP")) == ["+OK"])
    }

    @Test func unknownMechanismAndBareAuth() {
        var transcript = Transcript(tls: true)
        #expect(lines(transcript.send("AUTH CRAM-MD5")) == ["-ERR Unsupported authentication mechanism."])
        #expect(lines(transcript.send("AUTH")) == ["+OK", "PLAIN", "LOGIN", "."])
    }

    @Test func failuresCloseAfterThree() {
        var transcript = Transcript(tls: true)
        for attempt in 1...3 {
            _ = transcript.send("USER demo")
            _ = transcript.send("PASS wrong")
            let actions = transcript.session.authenticationFinished(.failure(.passwordMismatch))
            // The authenticator already waited: no second delay here.
            #expect(!actions.contains { if case .sleep = $0 { true } else { false } })
            #expect(lines(actions) == ["-ERR [AUTH] Authentication failed."])
            if attempt < 3 {
                #expect(actions.count == 1)
            } else {
                #expect(actions.last == .close(reason: "Too many invalid authentication attempts"))
            }
        }
        #expect(transcript.send("USER demo").isEmpty)
        #expect(
            transcript.session.disconnectLogLine(reason: "Too many invalid authentication attempts", elapsedSeconds: 7)
                == "Disconnected: Too many invalid authentication attempts (auth failed, 3 attempts in 7 secs): user=<demo>, method=PLAIN, rip=192.0.2.7, lip=192.0.2.1, TLS, session=<AbCdEfGhIjKl>")
    }

    @Test func temporaryFailure() {
        var transcript = Transcript(tls: true)
        _ = transcript.send("USER demo")
        _ = transcript.send("PASS x")
        #expect(
            lines(transcript.session.authenticationFinished(.failure(.temporaryFailure)))
                == ["-ERR [SYS/TEMP] Temporary authentication failure."])
        #expect(transcript.session.authFailures == 0)
    }

    @Test func loginRefusedByTheAdministratorIsATemporaryFailureWithTheReason() {
        var transcript = Transcript(tls: true)
        _ = transcript.send("USER demo")
        _ = transcript.send("PASS x")
        #expect(lines(transcript.session.loginRefused(reason: "Maintenance")) == ["-ERR [SYS/TEMP] Maintenance"])
        #expect(transcript.session.authFailures == 0)
        #expect(!transcript.session.isAuthenticated)
    }

    @Test func authzidOfAnotherUserFails() {
        var transcript = Transcript(tls: true)
        // "admin\0demo\0secret"
        let actions = transcript.send("AUTH PLAIN YWRtaW4AZGVtbwBzZWNyZXQ=")
        #expect(authRequest(actions) == nil)
        #expect(lines(actions) == ["-ERR [AUTH] Authentication failed."])
    }

    @Test func quitBeforeLogin() {
        var transcript = Transcript()
        let actions = transcript.send("QUIT")
        #expect(lines(actions) == ["+OK Logging out."])
        #expect(actions.last == .close(reason: "Aborted login by logging out"))
        #expect(
            transcript.session.disconnectLogLine(reason: "Aborted login by logging out", elapsedSeconds: 0)
                == "Disconnected: Aborted login by logging out (no auth attempts in 0 secs): rip=192.0.2.7, lip=192.0.2.1, session=<AbCdEfGhIjKl>")
    }

    @Test func apopAndTransactionCommandsRefused() {
        var transcript = Transcript(tls: true)
        #expect(lines(transcript.send("APOP demo c4c9334bac560ecc979e58001b3e22fb")) == ["-ERR APOP is not supported."])
        #expect(lines(transcript.send("STAT")) == ["-ERR Unknown command."])
        #expect(lines(transcript.send("XYZZY")) == ["-ERR Unknown command: XYZZY"])
    }

    @Test func badCommandsClose() {
        var transcript = Transcript()
        for _ in 1..<10 { #expect(transcript.send("BOGUS").count == 1) }
        let actions = transcript.send("BOGUS")
        #expect(actions.last == .close(reason: "Too many invalid commands"))
        #expect(transcript.send("CAPA").isEmpty)
    }

    @Test func lineTooLongBeforeLoginCloses() {
        var transcript = Transcript()
        let actions = transcript.session.lineTooLong()
        #expect(lines(actions) == ["-ERR Command line too long."])
        #expect(actions.last == .close(reason: "Command line too long"))
    }
}

@Suite struct HandedOverPOP3SessionTests {
    /// Issue 11: the mail service sends RFC 1939 §7's +OK for the login process's PASS and serves TRANSACTION.
    @Test func resumedSessionSaysLoggedInAndTakesMailCommands() {
        var transcript = Transcript(tls: true, startTLSAvailable: false)
        let actions = transcript.session.resumeAuthenticated(demo)
        guard case .loggedIn(let user) = actions.first else {
            Issue.record("no loggedIn")
            return
        }
        #expect(user == demo)
        #expect(lines(actions) == ["+OK Logged in."])
        #expect(transcript.session.isAuthenticated)
        #expect(transcript.send("STAT").contains { if case .mailCommand = $0 { true } else { false } })
    }
}
