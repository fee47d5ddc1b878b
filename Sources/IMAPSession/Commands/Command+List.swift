import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.9, RFC 5258 (LIST-EXTENDED), RFC 5819 (LIST-STATUS), RFC 6154 (SPECIAL-USE).
    static let list = IMAPCommandSpec(
        "LIST", state: .authenticated,
        mail: .streaming { session, command, output in
            guard case .list(let list) = command.kind else { throw CommandFailure.unsupported(command) }
            try session.list(list, output: output)
            return .ok("List completed.")
        })
}
