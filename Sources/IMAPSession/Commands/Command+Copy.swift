import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.7, RFC 4315 §3 (COPYUID). Streams, for MOVE: an EXPUNGE per moved message.
    static let copy = copyEntry("COPY", uid: false, move: false)
    static let uidCopy = copyEntry("UID COPY", uid: true, move: false)
    /// RFC 9051 §6.4.8 (RFC 6851)
    static let move = copyEntry("MOVE", uid: false, move: true)
    static let uidMove = copyEntry("UID MOVE", uid: true, move: true)

    private static func copyEntry(_ name: String, uid: Bool, move: Bool) -> IMAPCommandSpec {
        IMAPCommandSpec(
            name, state: .selected, runsOnDiskPool: true,
            mail: .streaming { session, command, output in
                switch command.kind {
                case .copy(uid, let set, let mailbox) where !move,
                    .move(uid, let set, let mailbox) where move:
                    return try session.copy(uid: uid, set: set, to: mailbox, move: move, output: output)
                default:
                    throw CommandFailure.unsupported(command)
                }
            })
    }
}

extension MailSession {
    func copy(uid: Bool, set: SequenceSet, to mailbox: MailboxName, move: Bool, output: any IMAPOutput) throws
        -> CommandResult
    {
        let selected = try requireSelected()
        if move && selected.readOnly { throw CommandFailure(.no, .other("READ-ONLY"), "Mailbox is read-only.") }
        let uids = try resolve(set, uid: uid)
        // As Dovecot's cmd-copy.c: a COPY or MOVE naming a message known to be gone does nothing (RFC 9051 §6.4.7),
        // and the expunge is told before the NO (COPY is not among the commands that hold EXPUNGE back).
        if uids.contains(where: selected.pendingExpunges.contains) {
            return CommandResult(final: {
                .tagged($0, .no, .other("EXPUNGEISSUED"), "Some of the requested messages no longer exist.")
            })
        }
        let destination = try openTarget(try name(mailbox))
        guard !uids.isEmpty else {
            return .ok(move ? "No messages moved." : "No messages copied.")
        }
        let pairs =
            move ? try selected.mailbox.move(uids: uids, to: destination) : try selected.mailbox.copy(uids: uids, to: destination)
        let code = IMAPResponseCode.copyUID(
            uidValidity: destination.uidValidity, source: pairs.map(\.source), destination: pairs.map(\.destination))
        guard move else { return .ok("Copy completed.", code: code) }
        // RFC 6851 §4.3: COPYUID comes untagged, before the expunges.
        output.send(.untaggedStatus(.ok, code, "Moved UIDs."))
        announceExpunged(pairs.map(\.source), output: output)
        return .ok("Move completed.")
    }
}
