import AerieMIME
import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.9, RFC 5258 (LIST-EXTENDED), RFC 5819 (LIST-STATUS), RFC 6154 (SPECIAL-USE). Streams: a
    /// line (and a STATUS) per mailbox of a possibly large tree.
    static let list = IMAPCommandSpec(
        "LIST", state: .authenticated,
        mail: .streaming { session, command, output in
            guard case .list(let list) = command.kind else { throw CommandFailure.unsupported(command) }
            try session.list(list, output: output)
            return .ok("List completed.")
        })
}

extension MailSession {
    func list(_ command: ListCommand, output: any IMAPOutput) throws {
        let reference = command.reference.decoded(utf8Enabled: utf8Enabled) ?? ""
        // RFC 9051 §6.3.9: an empty pattern asks for the hierarchy delimiter.
        if command.patterns.count == 1 && command.patterns[0].isEmpty && !command.isExtended {
            output.send(
                .untagged(
                    IMAPResponseLine.list(
                        attributes: ["\\Noselect"], delimiter: settings.separator, mailbox: "",
                        utf8Enabled: utf8Enabled)))
            return
        }
        let listings = try store.list()
        let subscribed = Set(try store.subscriptions())
        let configuredSpecialUse = Dictionary(
            settings.autoMailboxes.compactMap { mailbox in storageName(mailbox.name).map { ($0, mailbox.specialUse) } },
            uniquingKeysWith: { first, _ in first })
        let showsSpecialUse =
            !command.isExtended || command.returnOptions.specialUse || command.selectionOptions.specialUse
        // Patterns are matched against the names the client sees, so `%` stops at the client's separator.
        let patterns = command.patterns.map { pattern -> MailboxPattern in
            let decoded = decodePattern(pattern)
            return MailboxPattern(reference + decoded, separator: settings.separator)
        }
        let matches = { (name: String) in patterns.contains { $0.matches(self.clientName(name)) } }
        let selectsSubscribed = command.selectionOptions.subscribed
        let childInfo =
            selectsSubscribed && command.selectionOptions.recursiveMatch
            ? parentsOfUnmatchedSubscriptions(subscribed, matches: matches) : []
        var existing = Set<String>()
        for listing in listings {
            existing.insert(listing.name)
            guard matches(listing.name) else { continue }
            let isSubscribed = subscribed.contains(listing.name)
            if selectsSubscribed && !isSubscribed && !childInfo.contains(listing.name) { continue }
            let uses = showsSpecialUse ? specialUse(of: listing.name, configured: configuredSpecialUse) : []
            if command.selectionOptions.specialUse && uses.isEmpty { continue }
            var attributes = listing.attributes.map(\.rawValue).sorted()
            if isSubscribed && command.returnOptions.subscribed { attributes.append("\\Subscribed") }
            attributes += uses
            output.send(
                .untagged(
                    IMAPResponseLine.list(
                        attributes: attributes, delimiter: settings.separator, mailbox: clientName(listing.name),
                        utf8Enabled: utf8Enabled, childInfoSubscribed: childInfo.contains(listing.name))))
            if let items = command.returnOptions.status, !listing.attributes.contains(.noSelect) {
                try? statusLine(listing.name, items: items, output: output)
            }
        }
        // RFC 5258 §3.1: subscribed mailboxes that no longer exist are listed as \NonExistent (and so are
        // RECURSIVEMATCH parents that exist only in subscriptions).
        if selectsSubscribed {
            for name in subscribed.union(childInfo).sorted() where !existing.contains(name) && matches(name) {
                let attributes = subscribed.contains(name) ? ["\\NonExistent", "\\Subscribed"] : ["\\NonExistent"]
                output.send(
                    .untagged(
                        IMAPResponseLine.list(
                            attributes: attributes, delimiter: settings.separator, mailbox: clientName(name),
                            utf8Enabled: utf8Enabled, childInfoSubscribed: childInfo.contains(name))))
            }
        }
    }

    /// Unsubscribed ancestors (storage names) that `matches` while a subscribed descendant of theirs does not: the
    /// parents LSUB lists as \Noselect (RFC 3501 §6.3.9) and LIST (SUBSCRIBED RECURSIVEMATCH) lists with CHILDINFO
    /// (RFC 5258 §3.5). A descendant that matches is listed itself, so it needs no parent to stand for it.
    func parentsOfUnmatchedSubscriptions(_ subscribed: Set<String>, matches: (String) -> Bool) -> Set<String> {
        var parents = Set<String>()
        for name in subscribed where !matches(name) {
            var levels = name.split(separator: "/", omittingEmptySubsequences: false)
            while levels.count > 1 {
                levels.removeLast()
                let parent = levels.joined(separator: "/")
                if !subscribed.contains(parent) && matches(parent) { parents.insert(parent) }
            }
        }
        return parents
    }

    /// RFC 6154 §5.1: the configured attributes (`mailbox { special_use }`), then those from CREATE … USE (§3).
    func specialUse(of name: String, configured: [String: [String]]) -> [String] {
        var uses = configured[name] ?? []
        for stored in store.specialUse(name).compactMap(SpecialUse.canonical) where !uses.contains(stored) {
            uses.append(stored)
        }
        return uses
    }
}
