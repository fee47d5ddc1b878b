import IMAPProtocol

extension IMAPCommands {
    /// RFC 2971 §3.1
    static let id = IMAPCommandSpec("ID", state: .any) { session, command in
        guard case .id(let parameters) = command.kind else { return session.misrouted(command) }
        return session.id(tag: command.tag, parameters: parameters)
    }
}

extension IMAPSession {
    /// The first ID before login may carry a trusted proxy's fields (IMAPSession+ProxyID.swift).
    mutating func id(tag: IMAPTag, parameters: IDParameters?) -> [IMAPSessionAction] {
        if !isAuthenticated && !idSeen {
            idSeen = true
            guard applyProxyFields(parameters) else {
                return badCommand(tag: tag, message: "Invalid ID parameters")
            }
        }
        // RFC 2971 §3.1: we name the software but never its version, which would help an attacker.
        return [
            .send(.untagged("ID (\"name\" \"Aerie\")")),
            .send(.tagged(tag, .ok, nil, "ID completed.")),
        ]
    }
}
