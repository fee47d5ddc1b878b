import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.2.1
    static let starttls = IMAPCommandSpec("STARTTLS", state: .notAuthenticated) { session, command in
        session.startTLS(tag: command.tag)
    }
}

extension IMAPSession {
    mutating func startTLS(tag: IMAPTag) -> [IMAPSessionAction] {
        switch login.startTLS() {
        case .alreadyActive: badCommand(tag: tag, message: "TLS is already active.")
        case .unavailable: badCommand(tag: tag, message: "TLS support isn't enabled.")
        case .begin: [.send(.tagged(tag, .ok, nil, "Begin TLS negotiation now.")), .startTLS]
        }
    }
}
