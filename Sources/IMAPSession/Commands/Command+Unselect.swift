import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.2: as CLOSE, without the expunge.
    static let unselect = IMAPCommandSpec(
        "UNSELECT", state: .selected,
        mail: .returning { session, _ in
            session.view = nil
            return MailSession.CommandResult(final: { .tagged($0, .ok, nil, "Unselect completed.") }, notify: false)
        })
}
