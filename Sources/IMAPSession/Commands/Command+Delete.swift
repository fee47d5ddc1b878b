import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.5: deleting the selected mailbox leaves nothing selected.
    static let delete = IMAPCommandSpec(
        "DELETE", state: .authenticated, runsOnDiskPool: true,
        mail: .returning { session, command in
            guard case .delete(let mailbox) = command.kind else { throw CommandFailure.unsupported(command) }
            let target = try session.name(mailbox)
            if session.view?.mailbox.name == target { session.view = nil }
            try session.store.delete(target)
            return .ok("Delete completed.")
        })
}
