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

extension MailSession {
    /// RFC 5267 §4.3 CANCELUPDATE: every tag must name a running update, else nothing is cancelled.
    func cancelSearchUpdates(_ tags: [String]) throws -> CommandResult {
        guard searchUpdates.cancel(tags: tags) else { throw CommandFailure(.no, nil, "Unknown tag.") }
        return .ok("Updates cancelled.")
    }
}
