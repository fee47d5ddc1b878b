public import AerieAuth

/// What the transport must do for the LMTP session, in order. The session never touches a socket, a disk or a clock.
public enum LMTPSessionAction: Sendable {
    /// Bytes in wire form, CRLF included.
    case send([UInt8])
    /// Look the user up in the userdb off the event loop, then call `LMTPSession.recipientLookedUp`
    /// (or `recipientLookupFailed` on a temporary userdb failure). The session reads no input meanwhile.
    case lookupRecipient(user: String)
    /// Run `LMTPDeliverer.deliver` on the mail pool, then call `LMTPSession.deliveryFinished` with its replies.
    case deliver(LMTPDelivery)
    /// Flush what was sent, then start TLS; the session already dropped what was pipelined behind STARTTLS.
    case startTLS
    /// Close the connection after flushing; `reason` is for the log.
    case close(reason: String)
}

/// One accepted message and where it goes.
public struct LMTPDelivery: Sendable {
    /// The reverse-path of MAIL FROM; "" for the null sender `<>`.
    public var sender: String
    /// The accepted recipients, in RCPT order.
    public var recipients: [LMTPRecipient]
    /// The message as received: CRLF line ends after DATA, the exact octets after BDAT.
    public var message: [UInt8]
    /// What the `Received:` trace header says (`lmtp_add_received_header`); nil when it is not added.
    public var trace: LMTPTrace?

    public init(sender: String, recipients: [LMTPRecipient], message: [UInt8], trace: LMTPTrace? = nil) {
        self.sender = sender
        self.recipients = recipients
        self.message = message
        self.trace = trace
    }
}

/// A recipient the userdb knows.
public struct LMTPRecipient: Sendable, Equatable {
    /// The address as given in RCPT TO (for `Delivered-To` and the reply).
    public var address: String
    public var user: AuthenticatedUser
    /// The detail (`user+detail`) when `saveToDetailMailbox` is on: the mailbox to save to if it exists; nil for INBOX.
    public var detail: String?
    /// The user's `lmtp_user_concurrency_limit` slot, held while this recipient is in a transaction or a delivery.
    public var slot: LMTPDeliverySlot?

    public init(address: String, user: AuthenticatedUser, detail: String?, slot: LMTPDeliverySlot? = nil) {
        self.address = address
        self.user = user
        self.detail = detail
        self.slot = slot
    }

    /// The slot is bookkeeping, not part of who the recipient is.
    public static func == (lhs: LMTPRecipient, rhs: LMTPRecipient) -> Bool {
        lhs.address == rhs.address && lhs.user == rhs.user && lhs.detail == rhs.detail
    }
}
