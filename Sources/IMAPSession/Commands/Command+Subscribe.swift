import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.7
    static let subscribe = IMAPCommandSpec(
        "SUBSCRIBE", state: .authenticated, runsOnDiskPool: true,
        mail: .returning { session, command in
            guard case .subscribe(let mailbox) = command.kind else { throw CommandFailure.unsupported(command) }
            try session.store.subscribe(try session.name(mailbox))
            return .ok("Subscribe completed.")
        })

    /// RFC 9051 §6.3.8
    static let unsubscribe = IMAPCommandSpec(
        "UNSUBSCRIBE", state: .authenticated, runsOnDiskPool: true,
        mail: .returning { session, command in
            guard case .unsubscribe(let mailbox) = command.kind else { throw CommandFailure.unsupported(command) }
            try session.store.unsubscribe(try session.name(mailbox))
            return .ok("Unsubscribe completed.")
        })
}
