public import AerieAuth
import POP3Protocol
import SASL

/// SASL mechanisms the auth process runs (SCRAM, RFC 5802 / RFC 7677) over POP3 AUTH (RFC 5034 §4): the session
/// relays base64 lines, and sends the final `v=` data as a last challenge answered by an empty line.
extension POP3Session {
    mutating func startRemoteSASL(mechanism: SASLMechanism, initial: [UInt8]?) -> [POP3SessionAction] {
        guard let initial else {
            state = .remoteSASL(mechanism: mechanism, exchange: 0)
            return [.send(POP3Response.continuation("").bytes)]
        }
        return saslStep(mechanism: mechanism, exchange: 0, response: initial)
    }

    mutating func continueRemoteSASL(mechanism: SASLMechanism, exchange: UInt32, line: [UInt8]) -> [POP3SessionAction] {
        if line == [UInt8(ascii: "*")] {
            state = .authorization(user: nil)
            return [.send(POP3Response.err(code: nil, "Authentication aborted by client.").bytes)]
        }
        guard let text = String(validating: line, as: UTF8.self), let decoded = SASLBase64.decode(text) else {
            state = .authorization(user: nil)
            return badCommand("Invalid base64 data in continued response.")
        }
        return saslStep(mechanism: mechanism, exchange: exchange, response: decoded)
    }

    mutating func saslStep(mechanism: SASLMechanism, exchange: UInt32, response: [UInt8]) -> [POP3SessionAction] {
        state = .awaitingSASLStep(mechanism: mechanism)
        let context = AuthRequest(
            user: "", password: "", mechanism: mechanism.rawValue, service: "pop3", remoteIP: self.context.remoteIP,
            localIP: self.context.localIP, secured: self.context.isSecured, sessionID: self.context.sessionID)
        // The binding goes along whenever -PLUS is offered here, so plain SCRAM can refuse a downgrade (RFC 5802 §6).
        let binding = offeredMechanisms.contains(where: \.bindsChannel) ? self.context.channelBinding : nil
        return [
            .saslStep(
                SASLStepRequest(exchange: exchange, context: context, response: response, channelBinding: binding))
        ]
    }

    /// The answer to a `.saslStep` action.
    public mutating func saslStepFinished(_ reply: SASLStepReply) -> [POP3SessionAction] {
        guard case .awaitingSASLStep(let mechanism) = state else { return [] }
        switch reply {
        case .challenge(let exchange, let user, let bytes):
            lastAttemptedUser = user
            state = .remoteSASL(mechanism: mechanism, exchange: exchange)
            return [.send(POP3Response.continuation(SASLBase64.encode(bytes)).bytes)]
        case .finished(.success(let user), let serverFinal?):
            state = .saslFinalSent(user)
            return [.send(POP3Response.continuation(SASLBase64.encode(serverFinal)).bytes)]
        case .finished(let result, _):
            state = .awaitingAuthResult
            return authenticationFinished(result)
        }
    }

    mutating func finishRemoteSASL(user: AuthenticatedUser, line: [UInt8]) -> [POP3SessionAction] {
        if line.isEmpty || line == [UInt8(ascii: "=")] {
            state = .awaitingAuthResult
            return authenticationFinished(.success(user))
        }
        state = .authorization(user: nil)
        if line == [UInt8(ascii: "*")] {
            return [.send(POP3Response.err(code: nil, "Authentication aborted by client.").bytes)]
        }
        return badCommand("Unexpected data after the final SASL challenge.")
    }
}
