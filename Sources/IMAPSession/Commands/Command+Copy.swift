import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.7, RFC 4315 §3 (COPYUID)
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
