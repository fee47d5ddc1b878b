import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.6
    static let rename = IMAPCommandSpec(
        "RENAME", state: .authenticated, runsOnDiskPool: true,
        mail: .returning { session, command in
            guard case .rename(let from, let to) = command.kind else { throw CommandFailure.unsupported(command) }
            try session.store.rename(try session.name(from), to: try session.name(to))
            return .ok("Rename completed.")
        })
}
