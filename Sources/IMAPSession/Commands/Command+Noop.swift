import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.1.2: before login a plain OK; after it NOOP is how clients poll for new mail, so the mail session
    /// answers it (with the changes its completion announces).
    static let noop = IMAPCommandSpec(
        "NOOP", state: .any,
        session: { _, command in [.send(.tagged(command.tag, .ok, nil, "NOOP completed."))] },
        mail: .returning { _, _ in .ok("NOOP completed.") })
}
