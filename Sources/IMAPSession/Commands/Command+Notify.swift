import IMAPProtocol

extension IMAPCommands {
    /// RFC 5465 §3
    static let notify = IMAPCommandSpec(
        "NOTIFY", state: .authenticated,
        mail: .streaming { session, command, output in
            guard case .notify(let notify) = command.kind else { throw CommandFailure.unsupported(command) }
            return try session.notify(notify, output: output)
        })
}
