public import AerieAuth
public import AerieCore
import LMTPProtocol

/// The per-connection LMTP state machine (RFC 2033; RFC 5321 §3–§4; RFC 2920 PIPELINING; RFC 1870 SIZE;
/// RFC 3030 CHUNKING; RFC 2034 / RFC 3463 enhanced codes): raw bytes in, actions out.
///
/// The session owns the framing (`LMTPLineFramer`, `DataReader`, `BDATReader`), so a pipelined burst is split
/// exactly where the command phase and the data phase meet. While it waits for a userdb lookup or a delivery
/// (`isBusy`) it processes nothing; the transport stops feeding bytes, and the answer resumes with whatever
/// was already buffered behind the command that waited.
public struct LMTPSession: Sendable {
    enum Phase: Sendable {
        case command
        /// DATA: reading until `CRLF.CRLF`.
        case data(DataReader)
        /// BDAT: reading the chunk's octets; `accepted` false means the chunk is read only to be discarded.
        case bdat(size: Int, last: Bool, accepted: Bool)
    }

    enum Waiting: Sendable {
        case lookup(address: String, detail: String?)
        case delivery
    }

    public let settings: LMTPSessionSettings
    public private(set) var context: ConnectionContext
    /// The process-wide `lmtp_user_concurrency_limit` counter; nil: no limit.
    let concurrency: LMTPUserConcurrency?
    var framer: LMTPLineFramer
    var phase = Phase.command
    var waiting: Waiting?
    var closed = false
    var greeted = false
    /// The LHLO argument, for the `Received:` header.
    var heloName = ""
    var badCommands = 0

    // The mail transaction (RFC 5321 §3.3): open from MAIL to the end of the data, RSET or LHLO.
    var sender: String?
    /// MAIL FROM's `SIZE=` (RFC 1870 §6), within the limit: how much room the message will need.
    var declaredSize: Int?
    var recipients: [LMTPRecipient] = []
    var message: [UInt8] = []
    /// Which data command the transaction uses; DATA and BDAT cannot be mixed (RFC 3030 §2).
    var usedData = false
    var chunks: BDATReader?

    public init(settings: LMTPSessionSettings, context: ConnectionContext, concurrency: LMTPUserConcurrency? = nil) {
        self.settings = settings
        self.context = context
        self.concurrency = concurrency
        framer = LMTPLineFramer(maxLineLength: settings.maxLineLength)
    }

    /// RFC 2033 §4 / RFC 5321 §4.2: `220 HOST Aerie LMTP ready`.
    public func greeting() -> [LMTPSessionAction] {
        [.send(LMTPReply(code: 220, enhanced: nil, "\(settings.hostname) Aerie LMTP ready").bytes)]
    }

    /// Waiting for a lookup or a delivery: the transport stops feeding bytes until the answer.
    public var isBusy: Bool { waiting != nil }

    /// The transport finished the TLS handshake after STARTTLS; the client must LHLO again (RFC 3207 §4.2).
    public mutating func tlsEstablished() {
        context.isTLS = true
    }

    var capabilities: LMTPCapabilities {
        LMTPCapabilities(
            hostname: settings.hostname, maxMessageSize: settings.maxMessageSize, chunking: settings.chunking,
            starttls: context.startTLSAvailable && !context.isTLS)
    }

    // MARK: - Input

    /// Bytes from the connection, in any chunking.
    public mutating func receive(_ bytes: [UInt8]) -> [LMTPSessionAction] {
        guard !closed else { return [] }
        if waiting != nil {
            // The transport should not feed a busy session; keep the bytes for later rather than lose them.
            framer.append(bytes)
            return []
        }
        switch phase {
        case .command:
            framer.append(bytes)
            return drain()
        case .data, .bdat:
            return feedData(bytes) + drain()
        }
    }

    /// Works through everything buffered until more input, a lookup, a delivery or the close is needed.
    mutating func drain() -> [LMTPSessionAction] {
        var actions: [LMTPSessionAction] = []
        while !closed && waiting == nil {
            switch phase {
            case .command:
                guard let event = framer.next() else { return actions }
                switch event {
                case .line(let line): actions += handle(line)
                case .lineTooLong: actions += bad(LMTPParseError.lineTooLong.reply)
                }
            case .data, .bdat:
                // Bytes pipelined behind DATA's 354 or the BDAT line belong to the message.
                actions += feedData(framer.takeBufferedBytes())
                if case .command = phase { continue }
                return actions
            }
        }
        return actions
    }

    // MARK: - Commands

    mutating func handle(_ line: [UInt8]) -> [LMTPSessionAction] {
        let command: LMTPCommand
        do {
            command = try LMTPCommand.parse(line)
        } catch {
            return bad(error.reply)
        }
        switch command {
        case .lhlo(let domain):
            greeted = true
            heloName = domain
            resetTransaction()
            return [.send(capabilities.reply.bytes)]
        case .mailFrom(let address, let parameters):
            return mail(from: address, parameters: parameters)
        case .rcptTo(let address, _):
            return rcpt(to: address)
        case .data:
            return data()
        case .bdat(let size, let last):
            return bdat(size: size, last: last)
        case .rset:
            resetTransaction()
            return [.send(reply(250, "2.0.0", "OK"))]
        case .noop:
            return [.send(reply(250, "2.0.0", "OK"))]
        case .quit:
            closed = true
            return [.send(reply(221, "2.0.0", "Bye")), .close(reason: "Client has quit the connection")]
        case .vrfy:
            // RFC 5321 §3.5.3: 252 neither confirms nor denies; user enumeration stays closed.
            return [.send(reply(252, "2.3.3", "Try RCPT instead"))]
        case .help:
            return [.send(reply(214, "2.0.0", "Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"))]
        case .starttls:
            return startTLS()
        }
    }

    mutating func mail(from address: String, parameters: [String: String?]) -> [LMTPSessionAction] {
        guard greeted else { return bad(reply(503, "5.5.1", "LHLO needed first")) }
        guard sender == nil else { return bad(reply(503, "5.5.1", "MAIL already given")) }
        // RFC 1870 §6.3: a declared size over the limit is refused at once.
        let size = LMTPMailParameters(parameters).size
        if let size, settings.maxMessageSize > 0, size > settings.maxMessageSize {
            return [.send(reply(552, "5.3.4", "Message too big for system"))]
        }
        sender = address
        declaredSize = size
        return [.send(reply(250, "2.1.0", "OK"))]
    }

    mutating func rcpt(to address: String) -> [LMTPSessionAction] {
        guard sender != nil else { return bad(reply(503, "5.5.1", "MAIL needed first")) }
        guard chunks == nil else { return bad(reply(503, "5.5.1", "RCPT not allowed after BDAT")) }
        guard recipients.count < settings.maxRecipients else {
            return [.send(reply(452, "4.5.3", "Too many recipients"))]
        }
        let parts = RecipientAddress.split(address, delimiters: settings.recipientDelimiter)
        // The userdb sees the address without the detail, as Dovecot's LMTP looks it up.
        let user = parts.domain.map { "\(parts.user)@\($0)" } ?? parts.user
        waiting = .lookup(address: address, detail: parts.detail)
        return [.lookupRecipient(user: user)]
    }

    /// The answer to `.lookupRecipient`: nil for a user the userdb does not know.
    public mutating func recipientLookedUp(_ user: AuthenticatedUser?) -> [LMTPSessionAction] {
        guard case .lookup(let address, let detail) = waiting else { return [] }
        waiting = nil
        let answer: [UInt8]
        if let user {
            var slot: LMTPDeliverySlot?
            if let concurrency {
                slot = concurrency.acquire(user.user)
                // Dovecot's reply: temporary, so the MTA retries once the user's other deliveries are done.
                guard slot != nil else {
                    return [.send(reply(451, "4.3.0", "<\(address)> Too many concurrent deliveries for user"))]
                        + drain()
                }
            }
            recipients.append(
                LMTPRecipient(
                    address: address, user: user, detail: settings.saveToDetailMailbox ? detail : nil, slot: slot))
            answer = reply(250, "2.1.5", "OK")
        } else {
            answer = reply(550, "5.1.1", "<\(address)> User doesn't exist")
        }
        return [.send(answer)] + drain()
    }

    /// The userdb could not answer (a temporary failure): the MTA retries this recipient later.
    public mutating func recipientLookupFailed() -> [LMTPSessionAction] {
        guard case .lookup(let address, _) = waiting else { return [] }
        waiting = nil
        return [.send(reply(451, "4.3.0", "<\(address)> Temporary user lookup failure"))] + drain()
    }

    mutating func data() -> [LMTPSessionAction] {
        guard sender != nil else { return bad(reply(503, "5.5.1", "MAIL needed first")) }
        guard chunks == nil else { return bad(reply(503, "5.5.1", "DATA not allowed after BDAT")) }
        guard !recipients.isEmpty else { return bad(reply(503, "5.5.1", "No valid recipients")) }
        usedData = true
        reserveMessageCapacity()
        phase = .data(DataReader(maxMessageSize: readerLimit))
        return [.send(LMTPReply(code: 354, enhanced: nil, "OK").bytes)]
    }

    /// RFC 3030 §2: the chunk's octets follow the line whatever the reply will be, so they are always read;
    /// a chunk outside a valid transaction is discarded and answered 503 after its last octet.
    mutating func bdat(size: Int, last: Bool) -> [LMTPSessionAction] {
        guard settings.chunking else { return bad(LMTPParseError.unknownCommand.reply) }
        let accepted = sender != nil && !recipients.isEmpty && !usedData
        if accepted && chunks == nil {
            chunks = BDATReader(maxMessageSize: readerLimit)
            reserveMessageCapacity()
        }
        var reader = accepted ? chunks! : BDATReader(maxMessageSize: 0)
        reader.beginChunk(size: size)
        if accepted { chunks = reader } else { discardReader = reader }
        phase = .bdat(size: size, last: last, accepted: accepted)
        return []
    }

    /// Reads a chunk that is going to be refused.
    var discardReader = BDATReader(maxMessageSize: 0)

    mutating func startTLS() -> [LMTPSessionAction] {
        guard context.startTLSAvailable else { return bad(LMTPParseError.unknownCommand.reply) }
        guard !context.isTLS else { return bad(reply(503, "5.5.1", "TLS already active")) }
        guard sender == nil else { return bad(reply(503, "5.5.1", "STARTTLS not allowed in a mail transaction")) }
        // RFC 3207 §4.2 / §6: forget everything said before TLS, including what was pipelined behind STARTTLS.
        framer.discardBuffered()
        greeted = false
        resetTransaction()
        return [.send(reply(220, "2.0.0", "Begin TLS negotiation now")), .startTLS]
    }

    // MARK: - Helpers

    /// What the DATA and BDAT readers keep at most: nothing past it is stored, so memory stays bounded.
    var readerLimit: Int { settings.maxMessageSize > 0 ? settings.maxMessageSize : Int.max }

    /// One allocation for a message whose size MAIL FROM declared (never more than the limit), not a dozen regrowths.
    mutating func reserveMessageCapacity() {
        guard let declaredSize, declaredSize > 0 else { return }
        message.reserveCapacity(min(declaredSize, readerLimit, 64 * 1024 * 1024))
    }

    /// The connection is gone: the transaction ends, and with it the recipients' concurrency slots (a delivery
    /// still running on the pool keeps its own until it is done).
    public mutating func connectionClosed() {
        closed = true
        resetTransaction()
    }

    mutating func resetTransaction() {
        sender = nil
        declaredSize = nil
        recipients = []
        message = []
        usedData = false
        chunks = nil
    }

    func reply(_ code: Int, _ enhanced: String, _ text: String) -> [UInt8] {
        LMTPReply(code: code, enhanced: enhanced, text).bytes
    }

    mutating func bad(_ reply: LMTPReply) -> [LMTPSessionAction] { bad(reply.bytes) }

    /// Answers a refused command; after `maxBadCommands` the connection ends with 421 (RFC 5321 §3.8).
    mutating func bad(_ bytes: [UInt8]) -> [LMTPSessionAction] {
        badCommands += 1
        guard badCommands >= settings.maxBadCommands else { return [.send(bytes)] }
        closed = true
        return [
            .send(bytes), .send(reply(421, "4.7.0", "\(settings.hostname) Too many invalid commands")),
            .close(reason: "Too many invalid commands"),
        ]
    }
}
