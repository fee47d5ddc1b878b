import IMAPProtocol

extension IMAPCommands {
    /// RFC 9208 §4: Aerie keeps no quota and does not advertise QUOTA, so GETQUOTA, GETQUOTAROOT and SETQUOTA are
    /// refused on purpose (Dovecot without imap_quota answers them BAD too), after login; before it they are invalid.
    static let quota = ["GETQUOTA", "GETQUOTAROOT", "SETQUOTA"].map(notSupported)

    /// A command the parser knows but Aerie does not implement: a tagged BAD from the session itself.
    static func notSupported(_ name: String) -> IMAPCommandSpec {
        IMAPCommandSpec(name, state: .authenticated) { _, command in
            [.send(.tagged(command.tag, .bad, nil, "\(IMAPSession.commandName(command)) is not supported."))]
        }
    }
}
