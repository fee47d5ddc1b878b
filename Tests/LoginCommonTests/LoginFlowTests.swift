import AerieAuth
import AerieCore
import LoginCommon
import SASL
import Testing

/// The pre-login flow IMAP and POP3 share, without either protocol's syntax: what each input decides.
@Suite struct LoginFlowTests {
    static let alice = AuthenticatedUser(user: "alice", uid: 1000, gid: 1000, home: "/home/alice")

    func flow(
        _ mechanisms: [SASLMechanism] = [.plain, .login, .scramSHA256], tls: Bool = true, maxFailures: Int = 3
    ) -> LoginFlow {
        let context = ConnectionContext(
            remoteIP: "192.0.2.7", localIP: "192.0.2.1", sessionID: "s1", isTLS: tls, startTLSAvailable: !tls)
        let settings = LoginAuthSettings(mechanisms: mechanisms, maxAuthFailures: maxFailures)
        return LoginFlow(settings: settings, service: "pop3", context: context)
    }

    @Test func passwordLoginAsksTheAuthProcessAndLogsIn() throws {
        var login = flow()
        guard case .authenticate(let request) = login.passwordLogin(user: "alice", password: "pw") else {
            Issue.record("no auth request")
            return
        }
        #expect(request.user == "alice" && request.password == "pw" && request.service == "pop3" && request.secured)
        #expect(login.isWaiting && login.lastAttemptedUser == "alice" && login.lastMethod == "PLAIN")
        #expect(login.authenticationFinished(.success(Self.alice)) == .loggedIn(Self.alice))
        #expect(login.authenticationFinished(.success(Self.alice)) == .ignored, "answered once")
    }

    @Test func beforeTLSPasswordsAreRefusedAndRemembered() {
        var login = flow(tls: false)
        #expect(login.passwordLogin(user: "alice", password: "pw") == .plaintextDisallowed)
        #expect(login.authenticate(mechanismName: "plain", initialResponse: "AGFsaWNlAHB3") == .plaintextDisallowed)
        #expect(login.triedDisallowedPlaintext == "PLAIN")
        #expect(login.startTLS() == .begin)
        login.tlsEstablished(clientCertificateUser: nil, channelBinding: nil)
        #expect(login.startTLS() == .alreadyActive)
        if case .authenticate = login.passwordLogin(user: "alice", password: "pw") {
        } else {
            Issue.record("TLS did not allow the login")
        }
    }

    /// A failure the auth process answered is already delayed; one decided here (a refused authzid) is delayed
    /// here. The limit closes the connection.
    @Test func failuresAreDelayedOnceAndLimited() {
        var login = flow(maxFailures: 2)
        _ = login.passwordLogin(user: "alice", password: "wrong")
        #expect(login.authenticationFinished(.failure(.passwordMismatch)) == .failed(delay: nil, disconnect: false))
        // PLAIN with authzid "bob" for authcid "alice": a proxy login Aerie does not offer.
        let event = login.authenticate(mechanismName: "PLAIN", initialResponse: "Ym9iAGFsaWNlAHB3")
        #expect(event == .failed(delay: .seconds(2), disconnect: true))
        #expect(login.authFailures == 2)
    }

    @Test func temporaryFailureDoesNotCount() {
        var login = flow()
        _ = login.passwordLogin(user: "alice", password: "pw")
        #expect(login.authenticationFinished(.failure(.temporaryFailure)) == .temporaryFailure)
        #expect(login.authFailures == 0)
    }

    @Test func localExchangeWithContinuationAndCancel() {
        var login = flow()
        #expect(login.authenticate(mechanismName: "LOGIN", initialResponse: nil) == .challenge(Array("Username:".utf8)))
        #expect(login.expectsSASLResponse)
        #expect(login.respond(Array("*".utf8)) == .aborted)
        #expect(!login.expectsSASLResponse)
        _ = login.authenticate(mechanismName: "PLAIN", initialResponse: nil)
        #expect(login.respond(Array("not base64!".utf8)) == .malformed("Invalid base64 data in continued response."))
    }

    /// SCRAM runs in the auth process: the flow relays, then sends the server's final data and waits for the
    /// client's empty line before it says so.
    @Test func remoteExchangeRelaysAndEndsWithTheFinalData() throws {
        var login = flow()
        #expect(login.authenticate(mechanismName: "SCRAM-SHA-256", initialResponse: nil) == .challenge([]))
        guard case .saslStep(let first) = login.respond(Array("biwsbj1hbGljZSxyPWFiYw==".utf8)) else {
            Issue.record("no step")
            return
        }
        #expect(first.exchange == 0 && first.response == Array("n,,n=alice,r=abc".utf8))
        #expect(first.context.service == "pop3" && first.channelBinding == nil)
        #expect(login.saslStepFinished(.challenge(exchange: 4, user: "alice", [1])) == .challenge([1]))
        #expect(login.lastAttemptedUser == "alice")
        guard case .saslStep(let second) = login.respond(Array("AQ==".utf8)) else {
            Issue.record("no second step")
            return
        }
        #expect(second.exchange == 4)
        #expect(login.saslStepFinished(.finished(.success(Self.alice), serverFinal: [2])) == .challenge([2]))
        #expect(login.respond(Array("x".utf8)) == .malformed("Unexpected data after the final SASL challenge."))
    }

    @Test func remoteExchangeFinalLineLogsIn() {
        var login = flow()
        _ = login.authenticate(mechanismName: "SCRAM-SHA-256", initialResponse: "biwsbj1hbGljZSxyPWFiYw==")
        _ = login.saslStepFinished(.challenge(exchange: 4, user: "alice", [1]))
        _ = login.respond(Array("AQ==".utf8))
        _ = login.saslStepFinished(.finished(.success(Self.alice), serverFinal: [2]))
        #expect(login.respond([]) == .loggedIn(Self.alice))
    }

    @Test func mechanismsFollowTheConnection() {
        var login = flow([.plain, .external, .scramSHA256Plus])
        #expect(login.offeredMechanisms == [.plain])
        #expect(login.authenticate(mechanismName: "EXTERNAL", initialResponse: "=") == .unsupportedMechanism)
        login.tlsEstablished(clientCertificateUser: "alice", channelBinding: [9])
        #expect(login.offeredMechanisms == [.plain, .external, .scramSHA256Plus])
        guard case .authenticate(let request) = login.authenticate(mechanismName: "EXTERNAL", initialResponse: "=")
        else {
            Issue.record("EXTERNAL did not log in")
            return
        }
        #expect(request.user == "alice" && request.certificateVerified && request.password.isEmpty)
    }

    @Test func resetKeepsTheFailureCount() {
        var login = flow()
        _ = login.passwordLogin(user: "alice", password: "wrong")
        _ = login.authenticationFinished(.failure(.passwordMismatch))
        login.reset()
        #expect(login.lastAttemptedUser == nil && login.lastMethod == nil && login.authFailures == 1)
    }
}
