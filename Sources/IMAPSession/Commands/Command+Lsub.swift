import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 3501 §6.3.9
    static let lsub = IMAPCommandSpec(
        "LSUB", state: .authenticated,
        mail: .streaming { session, command, output in
            guard case .lsub(let reference, let pattern) = command.kind else {
                throw CommandFailure.unsupported(command)
            }
            try session.lsub(reference: reference, pattern: pattern, output: output)
            return .ok("Lsub completed.")
        })
}

extension MailSession {
    func lsub(reference: MailboxName, pattern: String, output: any IMAPOutput) throws {
        let prefix = reference.decoded(utf8Enabled: utf8Enabled) ?? ""
        let matcher = MailboxPattern(prefix + decodePattern(pattern), separator: settings.separator)
        let matches = { (name: String) in matcher.matches(self.clientName(name)) }
        let existing = Set(try store.list().filter { !$0.attributes.contains(.noSelect) }.map(\.name))
        let subscribed = Set(try store.subscriptions())
        let parents = parentsOfUnmatchedSubscriptions(subscribed, matches: matches)
        for name in subscribed.union(parents).sorted() where matches(name) {
            let attributes = existing.contains(name) && !parents.contains(name) ? [] : ["\\Noselect"]
            output.send(
                .untagged(
                    IMAPResponseLine.lsub(
                        attributes: attributes, delimiter: settings.separator, mailbox: clientName(name),
                        utf8Enabled: utf8Enabled)))
        }
    }
}
