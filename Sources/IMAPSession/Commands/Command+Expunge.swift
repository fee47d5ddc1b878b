import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.3. Streams: an EXPUNGE per message, after the changes announced first.
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

extension MailSession {
    /// RFC 9051 §6.4.3, RFC 4315 §2.1: the messages the client knows as \Deleted go (after a sync, so flags others set
    /// are told first); only those are announced, with any expunges still pending.
    func expunge(uids: [UInt32]?, output: any IMAPOutput) throws -> CommandResult {
        guard try !requireSelected().readOnly else {
            throw CommandFailure(.no, .other("READ-ONLY"), "Mailbox is read-only.")
        }
        notifyChanges(output: output, allowExpunge: true)
        let selected = try requireSelected()
        let wanted = uids.map { Set($0) }
        let removed = try selected.mailbox.expunge(uids: selected.deletedUIDs.filter { wanted?.contains($0) ?? true })
        announceExpunged(removed, output: output)
        return .ok("Expunge completed.")
    }
}
