import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.2.2, RFC 4959 (SASL-IR); the exchange itself is `LoginFlow`'s.
    static let authenticate = IMAPCommandSpec(
        "AUTHENTICATE", state: .notAuthenticated, wrongStateText: "Already logged in."
    ) { session, command in
        guard case .authenticate(let mechanism, let initialResponse) = command.kind else {
            return session.misrouted(command)
        }
        let event = session.login.authenticate(mechanismName: mechanism, initialResponse: initialResponse)
        return session.loginReply(event, tag: command.tag)
    }
}
