import IMAPProtocol

extension IMAPCommands {
    /// RFC 5256 §3 SORT, RFC 5267 §3 ESORT
    static let sort = sortEntry("SORT", uid: false)
    static let uidSort = sortEntry("UID SORT", uid: true)

    private static func sortEntry(_ name: String, uid: Bool) -> IMAPCommandSpec {
        IMAPCommandSpec(
            name, state: .selected, allowsExpunges: uid,
            mail: .streaming { session, command, output in
                guard case .sort(uid, let criteria, let charset, let key, let returnOptions) = command.kind else {
                    throw CommandFailure.unsupported(command)
                }
                return try session.sort(
                    uid: uid, criteria: criteria, charset: charset, key: key, returnOptions: returnOptions,
                    tag: command.tag, output: output)
            })
    }
}
