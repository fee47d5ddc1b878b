import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.1: a read-write mailbox loses its \Deleted messages silently, then nothing is selected.
    static let close = IMAPCommandSpec(
        "CLOSE", state: .selected, runsOnDiskPool: true,
        mail: .returning { session, _ in
            let selected = try session.requireSelected()
            if !selected.readOnly { _ = try selected.mailbox.expunge(uids: selected.deletedUIDs) }
            session.view = nil
            return MailSession.CommandResult(final: { .tagged($0, .ok, nil, "Close completed.") }, notify: false)
        })
}
