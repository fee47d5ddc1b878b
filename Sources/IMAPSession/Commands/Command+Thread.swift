import IMAPProtocol

extension IMAPCommands {
    /// RFC 5256 §4
    static let thread = threadEntry("THREAD", uid: false)
    static let uidThread = threadEntry("UID THREAD", uid: true)

    private static func threadEntry(_ name: String, uid: Bool) -> IMAPCommandSpec {
        IMAPCommandSpec(
            name, state: .selected, allowsExpunges: uid,
            mail: .streaming { session, command, output in
                guard case .thread(uid, let algorithm, let charset, let key) = command.kind else {
                    throw CommandFailure.unsupported(command)
                }
                return try session.thread(uid: uid, algorithm: algorithm, charset: charset, key: key, output: output)
            })
    }
}
