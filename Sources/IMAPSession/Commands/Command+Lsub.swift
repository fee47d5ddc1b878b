import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 3501 §6.3.9
    static let lsub = IMAPCommandSpec(
        "LSUB", state: .authenticated,
        mail: .returning { session, command in
            guard case .lsub(let reference, let pattern) = command.kind else {
                throw CommandFailure.unsupported(command)
            }
            return .ok("Lsub completed.", untagged: try session.lsub(reference: reference, pattern: pattern))
        })
}

extension MailSession {
    /// One LSUB line per matching subscription: few enough to answer at once.
    func lsub(reference: MailboxName, pattern: String) throws -> [IMAPResponse] {
        let prefix = reference.decoded(utf8Enabled: utf8Enabled) ?? ""
        let matcher = MailboxPattern(prefix + decodePattern(pattern), separator: settings.separator)
        let matches = { (name: String) in matcher.matches(self.clientName(name)) }
        let existing = Set(try store.list().filter { !$0.attributes.contains(.noSelect) }.map(\.name))
        let subscribed = Set(try store.subscriptions())
        let parents = parentsOfUnmatchedSubscriptions(subscribed, matches: matches)
        return subscribed.union(parents).sorted().filter(matches).map { name in
            let attributes = existing.contains(name) && !parents.contains(name) ? [] : ["\\Noselect"]
            return .untagged(
                IMAPResponseLine.lsub(
                    attributes: attributes, delimiter: settings.separator, mailbox: clientName(name),
                    utf8Enabled: utf8Enabled))
        }
    }
}
