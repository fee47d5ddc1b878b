import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.4, RFC 4731 (ESEARCH), RFC 5182 (SEARCHRES), RFC 5267 (CONTEXT=SEARCH)
    static let search = searchEntry("SEARCH", uid: false)
    static let uidSearch = searchEntry("UID SEARCH", uid: true)

    private static func searchEntry(_ name: String, uid: Bool) -> IMAPCommandSpec {
        IMAPCommandSpec(
            name, state: .selected, allowsExpunges: uid,
            mail: .streaming { session, command, output in
                guard case .search(let search) = command.kind, search.uid == uid else {
                    throw CommandFailure.unsupported(command)
                }
                return try session.search(search, tag: command.tag, output: output)
            })
    }
}
