import IMAPProtocol

extension IMAPCommands {
    /// RFC 3501 §6.3.9
    static let lsub = IMAPCommandSpec(
        "LSUB", state: .authenticated,
        mail: .streaming { session, command, output in
            guard case .lsub(let reference, let pattern) = command.kind else {
                throw CommandFailure.unsupported(command)
            }
            try session.lsub(reference: reference, pattern: pattern, output: output)
            return .ok("Lsub completed.")
        })
}
