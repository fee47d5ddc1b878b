import IMAPProtocol
import SASL

extension IMAPCommands {
    /// RFC 9051 §6.2.2, RFC 4959 (SASL-IR)
    static let authenticate = IMAPCommandSpec(
        "AUTHENTICATE", state: .notAuthenticated, wrongStateText: "Already logged in."
    ) { session, command in
        guard case .authenticate(let mechanism, let initialResponse) = command.kind else {
            return session.misrouted(command)
        }
        return session.authenticate(tag: command.tag, mechanismName: mechanism, initialResponse: initialResponse)
    }
}

extension IMAPSession {
    mutating func authenticate(tag: IMAPTag, mechanismName: String, initialResponse: String?) -> [IMAPSessionAction] {
        guard let mechanism = SASLMechanism(rawValue: mechanismName.uppercased()),
            offeredMechanisms.contains(mechanism)
        else {
            return [.send(.tagged(tag, .no, nil, "Unsupported authentication mechanism."))]
        }
        guard context.isSecured || settings.auth.allowCleartextWithoutTLS else {
            triedDisallowedPlaintext = mechanism.rawValue
            return [
                .send(
                    .tagged(
                        tag, .no, .privacyRequired,
                        "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."))
            ]
        }
        lastMethod = mechanism.rawValue
        var exchange = SASLServerExchange(mechanism: mechanism, maxResponseLength: settings.auth.maxSASLResponseLength)
        var initial: [UInt8]?
        if let initialResponse {
            guard let decoded = SASLBase64.decode(initialResponse) else {
                return badCommand(tag: tag, message: "Invalid base64 data in initial response.")
            }
            initial = decoded
        }
        if mechanism.runsInAuthProcess { return startRemoteSASL(tag: tag, mechanism: mechanism, initial: initial) }
        return sasl(step: exchange.start(initialResponse: initial), tag: tag, exchange: exchange)
    }

    mutating func continueSASL(tag: IMAPTag, exchange: inout SASLServerExchange, line: [UInt8]) -> [IMAPSessionAction] {
        switch SASLResponseLine.parse(line) {
        case .cancel:
            // RFC 9051 §6.2.2: a "*" line cancels, and the server answers BAD.
            state = .notAuthenticated
            return [.send(.tagged(tag, .bad, nil, "Authentication aborted by client."))]
        case .data(let text):
            guard let decoded = SASLBase64.decode(text) else {
                state = .notAuthenticated
                return badCommand(tag: tag, message: "Invalid base64 data in continued response.")
            }
            return sasl(step: exchange.respond(decoded), tag: tag, exchange: exchange)
        }
    }

    mutating func sasl(step: SASLStep, tag: IMAPTag, exchange: SASLServerExchange) -> [IMAPSessionAction] {
        switch step {
        case .challenge(let bytes):
            state = .saslExchange(tag: tag, exchange: exchange)
            return [.send(.continuation(SASLBase64.encode(bytes)))]
        case .done(let credentials):
            state = .notAuthenticated
            if lastMethod == SASLMechanism.external.rawValue {
                // RFC 4422 Appendix A.1: an empty authzid, or the certificate's own name; no one else.
                guard let user = context.clientCertificateUser,
                    credentials.authorizationID.isEmpty || credentials.authorizationID == user
                else {
                    lastAttemptedUser = credentials.authorizationID
                    return failedAuthentication(tag: tag)
                }
                return beginAuthentication(
                    tag: tag, user: user, password: "", method: "EXTERNAL", certificateVerified: true)
            }
            // Acting as another user (authzid) needs master-user support, which Aerie does not offer.
            if !credentials.authorizationID.isEmpty && credentials.authorizationID != credentials.authenticationID {
                lastAttemptedUser = credentials.authenticationID
                return failedAuthentication(tag: tag)
            }
            return beginAuthentication(
                tag: tag, user: credentials.authenticationID, password: credentials.password,
                method: lastMethod ?? "PLAIN")
        case .failed(.cancelled):
            state = .notAuthenticated
            return [.send(.tagged(tag, .bad, nil, "Authentication aborted by client."))]
        case .failed:
            state = .notAuthenticated
            return badCommand(tag: tag, message: "Invalid SASL response.")
        }
    }
}
