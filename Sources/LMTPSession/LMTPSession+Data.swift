public import LMTPProtocol

extension LMTPSession {
    /// Feeds message octets to the DATA or BDAT reader; at the end of the data the remainder goes back to the
    /// framer, the phase returns to commands and the replies (or the delivery) follow.
    mutating func feedData(_ bytes: [UInt8]) -> [LMTPSessionAction] {
        switch phase {
        case .command:
            framer.append(bytes)
            return []
        case .data(var reader):
            let events = reader.feed(bytes)
            var ended = false
            for event in events {
                switch event {
                case .data(let part): message.append(contentsOf: part)
                case .tooLarge: message = []  // nothing of an oversized message is kept or delivered
                case .end: ended = true
                }
            }
            guard ended else {
                phase = .data(reader)
                return []
            }
            phase = .command
            framer.append(reader.takeRemainder())
            return messageComplete(tooLarge: reader.isTooLarge)
        case .bdat(let size, let last, let accepted):
            var reader = accepted ? chunks ?? BDATReader(maxMessageSize: readerLimit) : discardReader
            var ended = false
            for event in reader.feed(bytes) {
                switch event {
                case .data(let part): if accepted { message.append(contentsOf: part) }
                case .tooLarge: message = []
                case .end: ended = true
                }
            }
            // Take the bytes after the chunk before the reader is stored, so they are handed on exactly once.
            let rest = ended ? reader.takeRemainder() : []
            if accepted { chunks = reader } else { discardReader = reader }
            guard ended else { return [] }
            phase = .command
            framer.append(rest)
            return chunkComplete(size: size, last: last, accepted: accepted, tooLarge: accepted && reader.isTooLarge)
        }
    }

    /// After BDAT's last octet.
    mutating func chunkComplete(size: Int, last: Bool, accepted: Bool, tooLarge: Bool) -> [LMTPSessionAction] {
        guard accepted else {
            discardReader = BDATReader(maxMessageSize: 0)
            if sender == nil { return bad(reply(503, "5.5.1", "MAIL needed first")) }
            if usedData { return bad(reply(503, "5.5.1", "BDAT not allowed after DATA")) }
            return bad(reply(503, "5.5.1", "No valid recipients"))
        }
        if last { return messageComplete(tooLarge: tooLarge) }
        if tooLarge {
            // RFC 3030 §4.2: the transaction has failed; later chunks are refused until a new MAIL.
            resetTransaction()
            return [.send(reply(552, "5.3.4", "Message too big for system"))]
        }
        return [.send(reply(250, "2.0.0", "\(size) octets received"))]
    }

    /// The whole message is in: one reply per accepted recipient (RFC 2033 §4.2), by delivery or refusal.
    mutating func messageComplete(tooLarge: Bool) -> [LMTPSessionAction] {
        if tooLarge {
            // RFC 1870 §6.3 / RFC 3463 X.3.4: nothing was kept, so every recipient gets the same permanent failure.
            let replies = recipients.map { _ in
                LMTPSessionAction.send(reply(552, "5.3.4", "Message too big for system"))
            }
            resetTransaction()
            return replies
        }
        let delivery = LMTPDelivery(sender: sender ?? "", recipients: recipients, message: message, trace: trace)
        message = []
        waiting = .delivery
        return [.deliver(delivery)]
    }

    /// The `Received:` header's facts (`lmtp_add_received_header`); the server names a unix socket peer "local".
    var trace: LMTPTrace? {
        guard settings.addReceivedHeader else { return nil }
        let ip = context.remoteIP
        return LMTPTrace(
            heloName: heloName.isEmpty ? "unknown" : heloName,
            remoteIP: ip.isEmpty || ip == "local" || ip == "unknown" ? nil : ip, hostname: settings.hostname,
            isTLS: context.isTLS, id: context.sessionID)
    }

    /// The answer to `.deliver`: one reply per accepted recipient, in RCPT order (RFC 2033 §4.2).
    public mutating func deliveryFinished(_ replies: [LMTPReply]) -> [LMTPSessionAction] {
        guard case .delivery = waiting else { return [] }
        waiting = nil
        var answers = replies.prefix(recipients.count).map { LMTPSessionAction.send($0.bytes) }
        // A deliverer that answered for fewer recipients must not leave the client waiting for a reply.
        while answers.count < recipients.count {
            answers.append(.send(reply(451, "4.3.0", "Temporary internal failure")))
        }
        resetTransaction()
        return answers + drain()
    }
}
