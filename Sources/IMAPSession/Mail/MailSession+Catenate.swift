import AerieStorage
import IMAPProtocol

/// APPEND with CATENATE (RFC 4469), alone or in a MULTIAPPEND (RFC 3502) next to plain messages.
///
/// The target is opened first, so a missing mailbox is TRYCREATE whatever the URLs say (as Dovecot answers). Every
/// message is then built in a spool file in tmp/ — TEXT literals as sent, URL parts as `BODY.PEEK[section]<partial>`
/// of a message of this user — and only when all are built are they committed, so a bad URL in any of them appends
/// nothing (§5: `NO [BADURL url]`).
extension MailSession {
    func appendCatenated(to target: String, messages: [AppendMessage]) throws -> CommandResult {
        let destination = try openTarget(target)
        var built: [(message: AppendMessage, writer: AppendWriter?)] = []
        for message in messages {
            let writer: AppendWriter?
            if let parts = message.catenate {
                writer = try catenate(parts)
            } else {
                writer = try takeSpool(at: message.literalOffset)
            }
            if (writer?.bytesWritten ?? message.data.count) > settings.appendLimit {
                throw CommandFailure(.no, .tooBig, "Message is larger than APPENDLIMIT \(settings.appendLimit).")
            }
            built.append((message, writer))
        }
        var uids: [UInt32] = []
        for (message, writer) in built {
            let flags = MessageFlags(imapFlags: message.flags)
            let date = message.internalDate?.secondsSince1970
            if let writer {
                uids.append(try destination.append(spooled: writer, flags: flags, internalDate: date))
            } else {
                uids.append(try destination.append(message.data, flags: flags, internalDate: date))
            }
        }
        let code = IMAPResponseCode.appendUID(uidValidity: destination.uidValidity, uids: uids)
        return .ok("Append completed.", code: code)
    }

    /// RFC 4469 §5: the parts joined in order, in a new spool file.
    func catenate(_ parts: [CatenatePart]) throws -> AppendWriter {
        let writer = try store.beginSpool()
        for part in parts {
            switch part {
            case .text(let data, let literalOffset, _):
                if let spooled = try takeSpool(at: literalOffset) {
                    try spooled.copyContents(into: writer)
                } else {
                    try writer.write(data)
                }
            case .url(let text):
                try writer.write(try catenateURLContent(text))
            }
            if writer.bytesWritten > settings.appendLimit {
                throw CommandFailure(.no, .tooBig, "Message is larger than APPENDLIMIT \(settings.appendLimit).")
            }
        }
        return writer
    }

    /// RFC 4469 §5: the octets a URL names — a message or part in a mailbox of this user, checked against its
    /// UIDVALIDITY when the URL gives one; anything else is BADURL.
    func catenateURLContent(_ text: String) throws -> [UInt8] {
        let bad = Self.badURL(text)
        guard let url = IMAPURL.parse(text), url.user == nil || url.user == user.user else { throw bad }
        var clientName = url.mailbox
        while clientName.last == settings.separator && clientName.count > 1 { clientName.removeLast() }
        guard var stored = storageName(clientName) else { throw bad }
        if stored.uppercased() == "INBOX" { stored = "INBOX" }
        guard let mailbox = try? store.open(stored) else { throw bad }
        if let uidValidity = url.uidValidity, uidValidity != mailbox.uidValidity { throw bad }
        guard let record = MessageRecords(messages: mailbox.messages).record(uid: url.uid) else { throw bad }
        var message = MessageData(mailbox: mailbox, record: record)
        var bytes: [UInt8]
        if let section = url.section, !(section.part.isEmpty && section.text == .complete) {
            guard let content = try? message.parsed().section(section.mimeSection) else { throw bad }
            bytes = content
        } else {
            guard let content = try? message.crlf() else { throw bad }
            bytes = content
        }
        if let offset = url.partialOffset {
            let length = url.partialLength ?? UInt64(Int64.max)
            bytes = Array(Self.apply(FetchPartial(offset: offset, length: length), to: bytes).0)
        }
        return bytes
    }

    /// RFC 4469 §5: `BADURL url-resp-text`, the URL left out when it holds what the response code cannot carry.
    static func badURL(_ text: String) -> CommandFailure {
        let printable = text.utf8.count <= 1024 && text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != 0x5D }
        return CommandFailure(.no, .other(printable ? "BADURL " + text : "BADURL"), "Invalid URL.")
    }
}
