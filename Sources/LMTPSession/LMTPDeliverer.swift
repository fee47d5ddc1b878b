public import AerieAuth
public import AerieCore
public import AerieStorage
public import LMTPProtocol

/// Stores an accepted LMTP message for each recipient (the blocking half of DATA / BDAT LAST; run on the mail pool).
public enum LMTPDeliverer {
    /// Writes the message once per recipient, with `Return-Path: <sender>` and `Delivered-To: address` (no brackets, as
    /// Dovecot and Postfix write it) at the top, then the `Received:` trace header when the delivery carries one
    /// (Dovecot's order); `date` is the trace header's time stamp.
    /// Each copy is fsynced and renamed into place (`Mailbox.append`) before its 250 is produced. A temporary
    /// storage failure (lock timeout, I/O: disk full) gives 451 so the MTA retries; a permanent one 552 (quota)
    /// or 550. The replies are in RCPT order, one per recipient (RFC 2033 §4.2).
    ///
    /// Line ends are stored as LF, as Dovecot stores them (`mail_save_crlf = no`). The recipient's detail selects
    /// the mailbox when it names an existing one, else INBOX (Dovecot `lmtp_save_to_detail_mailbox`); it is written
    /// with the IMAP hierarchy `separator`, as clients see the mailbox.
    /// Logs one line per recipient in Dovecot's shape, category `lmtp(USER)<SESSIONID>`:
    /// Info `msgid=<…>: saved mail to INBOX`, or Error `msgid=<…>: save failed to INBOX: …`.
    public static func deliver(
        _ delivery: LMTPDelivery, store: (AuthenticatedUser) throws -> MailStore, log: any LogSink, sessionID: String,
        date: @autoclosure () -> String = RFC5322Date.now(), separator: Character = "/"
    ) -> [LMTPReply] {
        let body = storedForm(delivery.message)
        let messageID = messageID(in: delivery.message)
        let stamp = delivery.trace == nil ? "" : date()
        return delivery.recipients.map { recipient in
            let category = "lmtp(\(LogSafe.userName(recipient.user.user)))<\(sessionID)>"
            let address = recipient.address
            var target = "INBOX"
            do {
                let mailStore = try store(recipient.user)
                let mailbox = try openTarget(recipient.detail, in: mailStore, separator: separator)
                target = mailbox.name
                var prefix = header(sender: delivery.sender, recipient: address)
                if let trace = delivery.trace {
                    prefix += trace.header(sender: delivery.sender, recipient: address, date: stamp).utf8
                }
                var content: [UInt8] = []
                content.reserveCapacity(prefix.count + body.count)  // one copy of the body per recipient, no regrowth
                content += prefix
                content += body
                _ = try mailbox.append(content, flags: MessageFlags(), internalDate: nil)
                log.info(category, "msgid=\(messageID): saved mail to \(LogSafe.userName(target))")
                return LMTPReply(code: 250, enhanced: "2.0.0", "<\(address)> Saved")
            } catch let error as StorageError {
                log.error(category, "msgid=\(messageID): save failed to \(LogSafe.userName(target)): \(error)")
                return reply(for: error, address: address)
            } catch {
                log.error(category, "msgid=\(messageID): save failed to \(LogSafe.userName(target)): \(error)")
                return LMTPReply(code: 451, enhanced: "4.3.0", "<\(address)> Temporary internal failure")
            }
        }
    }

    /// The detail mailbox when there is one and it exists, else INBOX.
    static func openTarget(
        _ detail: String?, in store: MailStore, separator: Character
    ) throws(StorageError) -> Mailbox {
        // With a separator other than `/`, a detail holding `/` names no mailbox a client could have made.
        if let detail, !detail.isEmpty, detail.uppercased() != "INBOX", separator == "/" || !detail.contains("/") {
            do {
                return try store.open(String(detail.map { $0 == separator ? "/" : $0 }), synced: false)
            } catch {
                if error.isTemporary { throw error }  // a detail mailbox that exists but is locked: retry later
            }
        }
        return try store.open("INBOX", synced: false)
    }

    /// RFC 3463: X.2.2 mailbox full; X.2.0 / X.3.0 other mailbox and system problems; 4xx when retrying can help.
    static func reply(for error: StorageError, address: String) -> LMTPReply {
        if error.isTemporary {
            return LMTPReply(code: 451, enhanced: "4.2.0", "<\(address)> Temporary failure in storing the message")
        }
        if case .quotaExceeded = error {
            return LMTPReply(code: 552, enhanced: "5.2.2", "<\(address)> Quota exceeded (mailbox for user is full)")
        }
        return LMTPReply(code: 550, enhanced: "5.2.0", "<\(address)> Mailbox unavailable")
    }

    /// `Return-Path` (RFC 5321 §4.4) and `Delivered-To`, LF-terminated like the stored body.
    static func header(sender: String, recipient: String) -> [UInt8] {
        Array("Return-Path: <\(headerSafe(sender))>\nDelivered-To: \(headerSafe(recipient))\n".utf8)
    }

    /// Addresses come from the parser (no CR, LF or NUL); this keeps a header line one line whatever the caller passes.
    static func headerSafe(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" }.map(Character.init))
    }

    /// CRLF becomes LF; a lone CR stays.
    static func storedForm(_ message: [UInt8]) -> [UInt8] {
        guard message.contains(0x0D) else { return message }
        var out: [UInt8] = []
        out.reserveCapacity(message.count)
        var index = 0
        while index < message.count {
            let byte = message[index]
            if byte == 0x0D, index + 1 < message.count, message[index + 1] == 0x0A {
                index += 1
                continue
            }
            out.append(byte)
            index += 1
        }
        return out
    }

    /// The `Message-ID` header's value for the log (RFC 5322 §3.6.4), unfolded, bounded and log-safe;
    /// `unspecified` when there is none.
    static func messageID(in message: [UInt8]) -> String {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        // The header ends at the first empty line; only that part is scanned.
        while start < message.count {
            let end = message[start...].firstIndex(of: 0x0A) ?? message.count
            var line = message[start..<end]
            if line.last == 0x0D { line = line.dropLast() }
            if line.isEmpty { break }
            lines.append(line)
            start = end + 1
        }
        let prefix = Array("message-id:".utf8)
        for (position, line) in lines.enumerated() {
            guard line.count >= prefix.count,
                zip(line.prefix(prefix.count), prefix).allSatisfy({ ($0 | 0x20) == $1 || $0 == $1 })
            else { continue }
            var value = Array(line.dropFirst(prefix.count))
            for continuation in lines[(position + 1)...] {
                guard let first = continuation.first, first == 0x20 || first == 0x09 else { break }
                value.append(contentsOf: continuation)
            }
            let text = String(decoding: value, as: UTF8.self).trimmingCharacters(in: " \t")
            guard !text.isEmpty else { return "unspecified" }
            let safe = text.unicodeScalars.prefix(200).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) }
            return String(safe)
        }
        return "unspecified"
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        return String(
            drop(while: { characters.contains($0) }).reversed().drop(while: { characters.contains($0) }).reversed())
    }
}
