import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.1.1
    static let capability = IMAPCommandSpec("CAPABILITY", state: .any) { session, command in
        [
            .send(.untagged("CAPABILITY " + session.capabilities.joined(separator: " "))),
            .send(.tagged(command.tag, .ok, nil, "Capability completed.")),
        ]
    }
}
