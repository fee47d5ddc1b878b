import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 5256 §3 SORT, RFC 5267 §3 ESORT
    static let sort = sortEntry("SORT", uid: false)
    static let uidSort = sortEntry("UID SORT", uid: true)

    private static func sortEntry(_ name: String, uid: Bool) -> IMAPCommandSpec {
        IMAPCommandSpec(
            name, state: .selected, allowsExpunges: uid,
            mail: .returning { session, command in
                guard case .sort(uid, let criteria, let charset, let key, let returnOptions) = command.kind else {
                    throw CommandFailure.unsupported(command)
                }
                return try session.sort(
                    uid: uid, criteria: criteria, charset: charset, key: key, returnOptions: returnOptions,
                    tag: command.tag)
            })
    }
}

extension MailSession {
    /// RFC 5256 §3 SORT and UID SORT; with RETURN options, RFC 5267 §3 ESORT answers in an ESEARCH response.
    func sort(
        uid: Bool, criteria: [SortCriterion], charset: String, key: SearchKey, returnOptions: [SearchReturnOption],
        tag: IMAPTag
    ) throws -> CommandResult {
        try checkSortCharset(charset)
        let (messages, modSeq) = try sortMessages(matching: key, fields: MessageSorter.fields(for: criteria))
        let sorted = MessageSorter.sort(messages, by: criteria)
        let numbers = sorted.map { uid ? $0.uid : $0.sequence }
        if returnOptions.isEmpty {
            return .ok("Sort completed.", untagged: [.untagged(IMAPResponseLine.sort(numbers, highestModSeq: modSeq))])
        }
        let answer = answerExtended(
            returnOptions, tag: tag, uid: uid, numbers: numbers, uids: sorted.map(\.uid), modSeq: modSeq)
        return .ok("Sort completed.", untagged: answer.map { [$0] } ?? [])
    }
}
