import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.11
    static let status = IMAPCommandSpec(
        "STATUS", state: .authenticated,
        mail: .streaming { session, command, output in
            guard case .status(let mailbox, let items) = command.kind else {
                throw CommandFailure.unsupported(command)
            }
            try session.status(mailbox, items: items, output: output)
            return .ok("Status completed.")
        })
}
