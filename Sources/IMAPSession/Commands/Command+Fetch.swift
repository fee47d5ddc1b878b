import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.5; FETCH streams each message's response as it is built, so it writes to the output.
    static let fetch = fetchEntry("FETCH", uid: false)
    static let uidFetch = fetchEntry("UID FETCH", uid: true)

    private static func fetchEntry(_ name: String, uid: Bool) -> IMAPCommandSpec {
        IMAPCommandSpec(
            name, state: .selected, allowsExpunges: uid,
            mail: .streaming { session, command, output in
                guard case .fetch(let fetch) = command.kind, fetch.uid == uid else {
                    throw CommandFailure.unsupported(command)
                }
                return try session.fetch(fetch, output: output)
            })
    }
}
