import AerieMIME
import AerieStorage
import IMAPProtocol

/// LIST, LSUB, STATUS and APPEND (RFC 9051 §6.3.9–6.3.12, RFC 5258, RFC 5819, RFC 6154).
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

    func status(_ mailbox: MailboxName, items: [StatusItem], output: any IMAPOutput) throws {
        if items.contains(.highestModSeq) { enableCondstore(output: output) }
        try statusLine(try name(mailbox), items: items, output: output)
    }

    func statusLine(_ name: String, items: [StatusItem], output: any IMAPOutput) throws {
        let status = try store.status(name)
        var values: [(StatusItem, UInt64)] = []
        for item in items {
            switch item {
            case .messages: values.append((item, UInt64(status.messages)))
            case .uidNext: values.append((item, UInt64(status.uidNext)))
            case .uidValidity: values.append((item, UInt64(status.uidValidity)))
            case .unseen: values.append((item, UInt64(status.unseen)))
            case .deleted: values.append((item, UInt64(status.deleted)))
            case .size: values.append((item, UInt64(status.size)))
            case .recent:
                // The selected mailbox's recent messages are this session's own (RFC 3501 §2.3.2), as Dovecot answers.
                let own = view.flatMap { $0.mailbox.name == name ? $0.recent.count : nil }
                values.append((item, UInt64(enabled.contains("IMAP4REV2") ? 0 : own ?? status.recent)))
            case .highestModSeq: values.append((item, status.highestModSeq))
            case .appendLimit: values.append((item, UInt64(settings.appendLimit)))
            case .mailboxID: break
            }
        }
        let mailboxID = items.contains(.mailboxID) && !status.mailboxID.isEmpty ? status.mailboxID : nil
        output.send(
            .untagged(
                IMAPResponseLine.status(
                    mailbox: clientName(name), utf8Enabled: utf8Enabled, values: values, mailboxID: mailboxID)))
    }

    func append(to mailbox: MailboxName, messages: [AppendMessage]) throws -> CommandResult {
        let target = try name(mailbox)
        // RFC 4469 CATENATE: MailSession+Catenate.swift.
        if messages.contains(where: { $0.catenate != nil }) {
            return try appendCatenated(to: target, messages: messages)
        }
        var spooled: [Int: AppendWriter] = [:]
        for (index, message) in messages.enumerated() {
            if let writer = try takeSpool(at: message.literalOffset) { spooled[index] = writer }
            let size = spooled[index]?.bytesWritten ?? message.data.count
            if size > settings.appendLimit {
                throw CommandFailure(.no, .tooBig, "Message is larger than APPENDLIMIT \(settings.appendLimit).")
            }
        }
        let destination = try openTarget(target)
        var uids: [UInt32] = []
        for (index, message) in messages.enumerated() {
            let flags = MessageFlags(imapFlags: message.flags)
            let date = message.internalDate?.secondsSince1970
            if let writer = spooled[index] {
                // A big binary message is read back whole to convert it, as FETCH BODYSTRUCTURE reads it anyway.
                if message.isBinary, let converted = ParsedMessage.binaryPartsInBase64(try writer.contents()) {
                    writer.abort()
                    uids.append(try destination.append(converted, flags: flags, internalDate: date))
                } else {
                    uids.append(try destination.append(spooled: writer, flags: flags, internalDate: date))
                }
            } else if message.isBinary, let converted = ParsedMessage.binaryPartsInBase64(message.data) {
                uids.append(try destination.append(converted, flags: flags, internalDate: date))
            } else {
                uids.append(try destination.append(message.data, flags: flags, internalDate: date))
            }
        }
        let code = IMAPResponseCode.appendUID(uidValidity: destination.uidValidity, uids: uids)
        return .ok("Append completed.", code: code)
    }

    /// The mailbox an APPEND, COPY or MOVE writes to; RFC 9051 §6.3.12: TRYCREATE tells the client it may CREATE it
    /// and retry.
    func openTarget(_ name: String) throws -> Mailbox {
        do {
            return try store.open(name)
        } catch {
            guard case .mailboxNotFound = error else { throw error }
            throw CommandFailure(.no, .other("TRYCREATE"), "Mailbox doesn't exist.")
        }
    }

    /// LIST patterns arrive in modified UTF-7 from rev1 clients.
    func decodePattern(_ pattern: String) -> String {
        if utf8Enabled { return pattern }
        return IMAPProtocol.ModifiedUTF7.decode(Array(pattern.utf8)) ?? pattern
    }
}

/// RFC 9051 §6.3.9 wildcards: `*` matches anything, `%` anything but the hierarchy delimiter.
struct MailboxPattern {
    private let pattern: [Character]
    private let separator: Character

    init(_ pattern: String, separator: Character = "/") {
        self.separator = separator
        // INBOX is case-insensitive, so a pattern spelling it otherwise still names it.
        if pattern.uppercased().hasPrefix("INBOX") && (pattern.count == 5 || Array(pattern)[5] == separator) {
            self.pattern = Array("INBOX" + pattern.dropFirst(5))
        } else {
            self.pattern = Array(pattern)
        }
    }

    func matches(_ name: String) -> Bool {
        let text = Array(name)
        var memo = [Int: Bool]()
        return match(0, 0, text, &memo)
    }

    private func match(_ p: Int, _ t: Int, _ text: [Character], _ memo: inout [Int: Bool]) -> Bool {
        let key = p * (text.count + 1) + t
        if let known = memo[key] { return known }
        let result: Bool
        if p == pattern.count {
            result = t == text.count
        } else {
            switch pattern[p] {
            case "*":
                result = match(p + 1, t, text, &memo) || (t < text.count && match(p, t + 1, text, &memo))
            case "%":
                result = match(p + 1, t, text, &memo) || (t < text.count && text[t] != separator && match(p, t + 1, text, &memo))
            default:
                result = t < text.count && text[t] == pattern[p] && match(p + 1, t + 1, text, &memo)
            }
        }
        memo[key] = result
        return result
    }
}
