import AerieMIME
import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.12, RFC 3502 (MULTIAPPEND), RFC 4469 (CATENATE)
    static let append = IMAPCommandSpec(
        "APPEND", state: .authenticated, runsOnDiskPool: true,
        mail: .returning { session, command in
            guard case .append(let mailbox, let messages) = command.kind else {
                throw CommandFailure.unsupported(command)
            }
            return try session.append(to: mailbox, messages: messages)
        })
}

extension MailSession {
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
}
