public import AerieAuth
import IMAPProtocol
import SASL

/// SASL mechanisms the auth process runs (SCRAM, RFC 5802 / RFC 7677): the session relays base64 lines and
/// the auth process's challenges, and sends the final `v=` data as a last challenge (RFC 9051 §6.2.2).
extension IMAPSession {
    mutating func startRemoteSASL(tag: IMAPTag, mechanism: SASLMechanism, initial: [UInt8]?) -> [IMAPSessionAction] {
        guard let initial else {
            // RFC 5802 §5: the client speaks first; without SASL-IR it gets an empty challenge.
            state = .remoteSASL(tag: tag, mechanism: mechanism, exchange: 0)
            return [.send(.continuation(""))]
        }
        return saslStep(tag: tag, mechanism: mechanism, exchange: 0, response: initial)
    }

    mutating func continueRemoteSASL(
        tag: IMAPTag, mechanism: SASLMechanism, exchange: UInt32, line: [UInt8]
    )
        -> [IMAPSessionAction]
    {
        switch SASLResponseLine.parse(line) {
        case .cancel:
            state = .notAuthenticated
            return [.send(.tagged(tag, .bad, nil, "Authentication aborted by client."))]
        case .data(let text):
            guard let decoded = SASLBase64.decode(text), decoded.count <= settings.auth.maxSASLResponseLength else {
                state = .notAuthenticated
                return badCommand(tag: tag, message: "Invalid base64 data in continued response.")
            }
            return saslStep(tag: tag, mechanism: mechanism, exchange: exchange, response: decoded)
        }
    }

    mutating func saslStep(
        tag: IMAPTag, mechanism: SASLMechanism, exchange: UInt32, response: [UInt8]
    )
        -> [IMAPSessionAction]
    {
        state = .awaitingSASLStep(tag: tag, mechanism: mechanism)
        let context = AuthRequest(
            user: "", password: "", mechanism: mechanism.rawValue, service: "imap", remoteIP: self.context.remoteIP,
            localIP: self.context.localIP, secured: self.context.isSecured, sessionID: self.context.sessionID)
        // The binding goes along whenever -PLUS is offered here, so plain SCRAM can refuse a downgrade (RFC 5802 §6).
        let binding = offeredMechanisms.contains(where: \.bindsChannel) ? self.context.channelBinding : nil
        return [
            .saslStep(
                SASLStepRequest(exchange: exchange, context: context, response: response, channelBinding: binding))
        ]
    }

    /// The answer to a `.saslStep` action.
    public mutating func saslStepFinished(_ reply: SASLStepReply) -> [IMAPSessionAction] {
        guard case .awaitingSASLStep(let tag, let mechanism) = state else { return [] }
        switch reply {
        case .challenge(let exchange, let user, let bytes):
            lastAttemptedUser = user
            state = .remoteSASL(tag: tag, mechanism: mechanism, exchange: exchange)
            return [.send(.continuation(SASLBase64.encode(bytes)))]
        case .finished(.success(let user), let serverFinal?):
            state = .saslFinalSent(tag: tag, user: user)
            return [.send(.continuation(SASLBase64.encode(serverFinal)))]
        case .finished(let result, _):
            state = .awaitingAuthResult(tag: tag)
            return authenticationFinished(result)
        }
    }

    /// The client's answer to the final data: empty when it accepted the server's signature.
    mutating func finishRemoteSASL(tag: IMAPTag, user: AuthenticatedUser, line: [UInt8]) -> [IMAPSessionAction] {
        switch SASLResponseLine.parse(line) {
        case .data(let text) where text.isEmpty || text == "=":
            state = .awaitingAuthResult(tag: tag)
            return authenticationFinished(.success(user))
        case .cancel:
            state = .notAuthenticated
            return [.send(.tagged(tag, .bad, nil, "Authentication aborted by client."))]
        case .data:
            state = .notAuthenticated
            return badCommand(tag: tag, message: "Unexpected data after the final SASL challenge.")
        }
    }
}
