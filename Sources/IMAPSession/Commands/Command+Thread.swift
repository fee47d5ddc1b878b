import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 5256 §4
    static let thread = threadEntry("THREAD", uid: false)
    static let uidThread = threadEntry("UID THREAD", uid: true)

    private static func threadEntry(_ name: String, uid: Bool) -> IMAPCommandSpec {
        IMAPCommandSpec(
            name, state: .selected, allowsExpunges: uid,
            mail: .returning { session, command in
                guard case .thread(uid, let algorithm, let charset, let key) = command.kind else {
                    throw CommandFailure.unsupported(command)
                }
                return try session.thread(uid: uid, algorithm: algorithm, charset: charset, key: key)
            })
    }
}

extension MailSession {
    /// RFC 5256 §4 THREAD and UID THREAD.
    func thread(uid: Bool, algorithm: String, charset: String, key: SearchKey) throws -> CommandResult {
        let name = algorithm.uppercased()
        guard Self.threadAlgorithms.contains(name) else {
            throw CommandFailure(.bad, nil, "Unknown thread algorithm.")
        }
        try checkSortCharset(charset)
        let fields: SortFields = name == "REFERENCES" ? [.sentDate, .subject, .references] : [.sentDate, .subject]
        let (messages, _) = try sortMessages(matching: key, fields: fields)
        let forest =
            name == "REFERENCES" ? ReferencesThreader.thread(messages) : OrderedSubjectThreader.thread(messages)
        let line = forest.encode { uid ? messages[$0].uid : messages[$0].sequence }
        return .ok("Thread completed.", untagged: [.untagged(line)])
    }
}
