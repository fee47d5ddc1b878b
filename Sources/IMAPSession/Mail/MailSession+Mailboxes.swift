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
        var existing = Set<String>()
        for listing in listings {
            existing.insert(listing.name)
            let shown = clientName(listing.name)
            guard patterns.contains(where: { $0.matches(shown) }) else { continue }
            if command.selectionOptions.subscribed && !subscribed.contains(listing.name) { continue }
            let uses = showsSpecialUse ? specialUse(of: listing.name, configured: configuredSpecialUse) : []
            if command.selectionOptions.specialUse && uses.isEmpty { continue }
            var attributes = listing.attributes.map(\.rawValue).sorted()
            if subscribed.contains(listing.name)
                && (command.selectionOptions.subscribed || command.returnOptions.subscribed)
            {
                attributes.append("\\Subscribed")
            }
            attributes += uses
            output.send(
                .untagged(
                    IMAPResponseLine.list(
                        attributes: attributes, delimiter: settings.separator, mailbox: shown,
                        utf8Enabled: utf8Enabled)))
            if let items = command.returnOptions.status, !listing.attributes.contains(.noSelect) {
                try? statusLine(listing.name, items: items, output: output)
            }
        }
        // RFC 5258 §3.1: subscribed mailboxes that no longer exist are listed as \NonExistent.
        if command.selectionOptions.subscribed {
            for name in subscribed.sorted() where !existing.contains(name) {
                let shown = clientName(name)
                guard patterns.contains(where: { $0.matches(shown) }) else { continue }
                output.send(
                    .untagged(
                        IMAPResponseLine.list(
                            attributes: ["\\NonExistent", "\\Subscribed"], delimiter: settings.separator,
                            mailbox: shown, utf8Enabled: utf8Enabled)))
            }
        }
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
        let existing = Set(try store.list().filter { !$0.attributes.contains(.noSelect) }.map(\.name))
        for name in try store.subscriptions() {
            let shown = clientName(name)
            guard matcher.matches(shown) else { continue }
            let attributes = existing.contains(name) ? [] : ["\\Noselect"]
            output.send(
                .untagged(
                    IMAPResponseLine.lsub(
                        attributes: attributes, delimiter: settings.separator, mailbox: shown,
                        utf8Enabled: utf8Enabled)))
        }
    }

    func status(_ mailbox: MailboxName, items: [StatusItem], output: any IMAPOutput) throws {
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
            case .recent: values.append((item, UInt64(status.recent)))
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
                uids.append(try destination.append(spooled: writer, flags: flags, internalDate: date))
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
