import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.12, RFC 3502 (MULTIAPPEND), RFC 4469 (CATENATE)
    static let append = IMAPCommandSpec(
        "APPEND", state: .authenticated, runsOnDiskPool: true,
        mail: .returning { session, command in
            guard case .append(let mailbox, let messages) = command.kind else {
                throw CommandFailure.unsupported(command)
            }
            return try session.append(to: mailbox, messages: messages)
        })
}
