import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.2.3
    static let login = IMAPCommandSpec(
        "LOGIN", state: .notAuthenticated, wrongStateText: "Already logged in."
    ) { session, command in
        guard case .login(let user, let password) = command.kind else { return session.misrouted(command) }
        return session.loginReply(session.login.passwordLogin(user: user, password: password), tag: command.tag)
    }
}
