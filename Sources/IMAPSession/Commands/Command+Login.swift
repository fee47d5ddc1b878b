import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.2.3
    static let login = IMAPCommandSpec(
        "LOGIN", state: .notAuthenticated, wrongStateText: "Already logged in."
    ) { session, command in
        guard case .login(let user, let password) = command.kind else { return session.misrouted(command) }
        return session.login(tag: command.tag, user: user, password: password)
    }
}

extension IMAPSession {
    mutating func login(tag: IMAPTag, user: String, password: String) -> [IMAPSessionAction] {
        guard context.isSecured || settings.auth.allowCleartextWithoutTLS else {
            triedDisallowedPlaintext = "plaintext"
            return [
                .send(
                    .tagged(
                        tag, .no, .privacyRequired,
                        "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."))
            ]
        }
        return beginAuthentication(tag: tag, user: user, password: password, method: "PLAIN")
    }
}
