import IMAPProtocol

extension IMAPCommands {
    /// RFC 5267 §4.3
    static let cancelUpdate = IMAPCommandSpec(
        "CANCELUPDATE", state: .selected,
        mail: .returning { session, command in
            guard case .cancelUpdate(let tags) = command.kind else { throw CommandFailure.unsupported(command) }
            return try session.cancelSearchUpdates(tags)
        })
}
