import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.4, RFC 4731 (ESEARCH), RFC 5182 (SEARCHRES), RFC 5267 (CONTEXT=SEARCH)
    static let search = searchEntry("SEARCH", uid: false)
    static let uidSearch = searchEntry("UID SEARCH", uid: true)

    private static func searchEntry(_ name: String, uid: Bool) -> IMAPCommandSpec {
        IMAPCommandSpec(
            name, state: .selected, allowsExpunges: uid,
            mail: .returning { session, command in
                guard case .search(let search) = command.kind, search.uid == uid else {
                    throw CommandFailure.unsupported(command)
                }
                return try session.search(search, tag: command.tag)
            })
    }
}

extension MailSession {
    func search(_ command: SearchCommand, tag: IMAPTag) throws -> CommandResult {
        let selected = try requireSelected()
        if let charset = command.charset?.uppercased(), !["UTF-8", "US-ASCII"].contains(charset) {
            throw CommandFailure(.no, IMAPResponseCode.badCharset(["UTF-8", "US-ASCII"]), "Unsupported charset.")
        }
        let matches = try matching(command.key, in: selected)
        let numbers = matches.map { command.uid ? $0.record.uid : UInt32($0.sequence) }
        let searchedModSeq = command.key.mentionsModSeq ? matches.map(\.record.modSeq).max() : nil
        var untagged: [IMAPResponse] = []
        if command.key.mentionsModSeq, let highest = enableCondstore() { untagged.append(highest) }
        if command.returnOptions.isEmpty {
            untagged.append(.untagged(IMAPResponseLine.search(numbers, highestModSeq: searchedModSeq)))
        } else {
            let answer = answerExtended(
                command.returnOptions, tag: tag, uid: command.uid, numbers: numbers, uids: matches.map(\.record.uid),
                modSeq: searchedModSeq, modSeqs: matches.map(\.record.modSeq), partial: command.partial)
            if let answer { untagged.append(answer) }
            if command.returnOptions.contains(.update),
                let refused = startSearchUpdates(command, tag: tag, matches: matches.map(\.record), in: selected)
            {
                untagged.append(refused)
            }
        }
        return .ok("Search completed.", untagged: untagged)
    }
}
