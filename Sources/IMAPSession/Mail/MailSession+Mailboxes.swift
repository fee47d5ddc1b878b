import AerieMIME
import AerieStorage
import IMAPProtocol

/// What LIST, LSUB, STATUS, APPEND, COPY and NOTIFY share (the commands are in Commands/).
extension MailSession {
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
