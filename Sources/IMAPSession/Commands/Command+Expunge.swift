import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.3
    static let expunge = IMAPCommandSpec(
        "EXPUNGE", state: .selected, runsOnDiskPool: true,
        mail: .streaming { session, _, output in try session.expunge(uids: nil, output: output) })

    /// RFC 9051 §6.4.9 (RFC 4315 §2.1 UIDPLUS)
    static let uidExpunge = IMAPCommandSpec(
        "UID EXPUNGE", state: .selected, runsOnDiskPool: true,
        mail: .streaming { session, command, output in
            guard case .uidExpunge(let set) = command.kind else { throw CommandFailure.unsupported(command) }
            return try session.expunge(uids: session.resolve(set, uid: true), output: output)
        })
}
