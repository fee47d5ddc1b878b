import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.1.3
    static let logout = IMAPCommandSpec("LOGOUT", state: .any) { session, command in session.logout(tag: command.tag) }
}

extension IMAPSession {
    mutating func logout(tag: IMAPTag) -> [IMAPSessionAction] {
        let reason = isAuthenticated ? "Logged out" : "Aborted login by logging out"
        state = .loggedOut
        return [
            .send(.untaggedStatus(.bye, nil, "Logging out")),
            .send(.tagged(tag, .ok, nil, "Logout completed.")),
            .close(reason: reason),
        ]
    }
}
