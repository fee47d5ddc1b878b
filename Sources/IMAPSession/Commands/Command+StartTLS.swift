import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.2.1
    static let starttls = IMAPCommandSpec("STARTTLS", state: .notAuthenticated) { session, command in
        session.startTLS(tag: command.tag)
    }
}

extension IMAPSession {
    mutating func startTLS(tag: IMAPTag) -> [IMAPSessionAction] {
        if context.isTLS { return badCommand(tag: tag, message: "TLS is already active.") }
        guard context.startTLSAvailable else { return badCommand(tag: tag, message: "TLS support isn't enabled.") }
        return [.send(.tagged(tag, .ok, nil, "Begin TLS negotiation now.")), .startTLS]
    }
}
