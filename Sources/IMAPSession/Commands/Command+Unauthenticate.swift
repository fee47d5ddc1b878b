import IMAPProtocol

extension IMAPCommands {
    /// RFC 8437 §3: valid only after login, but a disabled UNAUTHENTICATE says so first, so the handler checks the
    /// state itself.
    static let unauthenticate = IMAPCommandSpec("UNAUTHENTICATE", state: .any) { session, command in
        session.unauthenticate(tag: command.tag)
    }
}

extension IMAPSession {
    /// RFC 8437 §3: back to the not-authenticated state with everything but TLS reset. The mail session goes (a
    /// selected mailbox is left without expunge, ENABLE and SEARCHRES state with it), and §4.1: COMPRESS ends once
    /// the tagged OK is out. A new LOGIN or AUTHENTICATE then meets the same TLS rules as the first one.
    mutating func unauthenticate(tag: IMAPTag) -> [IMAPSessionAction] {
        guard settings.unauthenticate else { return badCommand(tag: tag, message: "UNAUTHENTICATE is disabled.") }
        guard case .authenticated(let user) = state else {
            return badCommand(tag: tag, message: "UNAUTHENTICATE is valid only after login.")
        }
        state = .notAuthenticated
        authenticatedUser = nil
        login.reset()
        badCommands = 0
        var actions: [IMAPSessionAction] = [
            .loggedOut(user), .send(.tagged(tag, .ok, nil, "Unauthenticate completed.")),
        ]
        if compressionActive {
            compressionActive = false
            actions.append(.stopCompression)
        }
        return actions
    }
}
