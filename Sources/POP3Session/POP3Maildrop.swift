public import AerieAuth
public import AerieCore
public import AerieStorage
public import POP3Protocol

/// Where the maildrop writes its responses. The server's implementation writes to the connection from the mail
/// thread pool with backpressure, so a RETR of a large message streams instead of piling up in memory.
public protocol POP3Output: Sendable {
    /// Bytes in wire form, CRLF included.
    func send(_ bytes: [UInt8])
}

/// The TRANSACTION and UPDATE states (RFC 1939 §5, §6) of one logged-in POP3 connection.
///
/// The maildrop is INBOX as it was at login: messages 1…n keep their numbers for the whole session (RFC 1939 §5),
/// whatever other sessions deliver or expunge meanwhile. DELE only marks; the marked messages are expunged at QUIT
/// and never before, so a connection lost or a server killed before QUIT deletes nothing. RETR marks a message
/// \Seen (Dovecot's `pop3_no_flag_updates = no`); as in Dovecot the flags are written at QUIT, or when the
/// transport reports the connection gone through `connectionClosed()`, and RSET forgets them.
///
/// Every method blocks on disk I/O: the transport calls it from the mail thread pool, one call at a time.
public final class POP3Maildrop: @unchecked Sendable {
    public let user: AuthenticatedUser
    let mailbox: Mailbox
    let uidlFormat: String
    let log: any LogSink
    let logCategory: String
    /// The snapshot taken at login: message n is `messages[n - 1]`.
    let messages: [MessageRecord]
    let uidValidity: UInt32
    var deleted: Set<Int> = []
    var retrieved: Set<Int> = []
    /// The next message's file, read after a RETR (see `readAhead(after:)`).
    var readAheadMessage: (index: Int, bytes: [UInt8])?
    var finished = false

    /// Statistics for Dovecot's `pop3_logout_format` (`top=%t/%p, retr=%r/%b, del=%d/%m, size=%s`).
    var topCount = 0
    var topBytes = 0
    var retrCount = 0
    var retrBytes = 0
    var expungedCount = 0

    /// RETR and TOP read message files in chunks of this size.
    static let chunkSize = 64 * 1024

    /// Opens INBOX and takes the snapshot. `log` receives storage errors (with paths, which clients never see),
    /// under the category `pop3(USER)<SESSIONID>`.
    public init(
        user: AuthenticatedUser, store: MailStore, uidlFormat: String, log: any LogSink = DiscardingLogSink(),
        sessionID: String = ""
    ) throws(StorageError) {
        self.user = user
        self.uidlFormat = uidlFormat
        self.log = log
        logCategory = "pop3(\(LogSafe.userName(user.user)))" + (sessionID.isEmpty ? "" : "<\(sessionID)>")
        mailbox = try store.open("INBOX")
        messages = mailbox.messages
        uidValidity = mailbox.uidValidity
    }

    /// The reply for a maildrop that could not be opened after a successful login; send it instead of
    /// `+OK Logged in.`, then close. RFC 2449 §8.1.1 IN-USE for a lock timeout, RFC 3206 SYS/TEMP otherwise.
    public static func openFailureReply(_ error: StorageError) -> [UInt8] {
        if case .lockTimeout = error {
            return POP3Response.err(code: .inUse, "Mailbox is locked by another POP3 session.").bytes
        }
        return POP3Response.err(code: .sysTemp, "Couldn't open INBOX. Refer to server log for more information.").bytes
    }

    /// Number of messages in the snapshot.
    public var messageCount: Int { messages.count }

    /// Dovecot's default `pop3_logout_format` values, for the `Disconnected: Logged out …` line.
    public var logoutStatistics: String {
        let size = messages.reduce(0) { $0 + $1.virtualSize }
        return "top=\(topCount)/\(topBytes), retr=\(retrCount)/\(retrBytes), del=\(expungedCount)/\(messages.count), size=\(size)"
    }

    // MARK: - Dispatch

    /// Runs one TRANSACTION-state command and writes its whole response. Returns true when the connection must
    /// close: after QUIT, or when a RETR/TOP failed half way through its multi-line response.
    public func execute(_ command: POP3Command, output: some POP3Output) -> Bool {
        guard !finished else { return true }
        switch command {
        case .stat:
            let live = liveIndices
            let size = live.reduce(0) { $0 + messages[$1].virtualSize }
            output.send(POP3Response.ok("\(live.count) \(size)").bytes)
        case .list(nil):
            let lines = liveIndices.map { "\($0 + 1) \(messages[$0].virtualSize)" }
            output.send(POP3Response.multiline(first: "\(lines.count) messages:", lines: lines).bytes)
        case .list(let number?):
            guard let index = lookup(number, output: output) else { break }
            output.send(POP3Response.ok("\(number) \(messages[index].virtualSize)").bytes)
        case .retr(let number):
            guard let index = lookup(number, output: output) else { break }
            guard let sent = stream(index, bodyLines: nil, output: output) else { return true }
            retrCount += 1
            retrBytes += sent
            retrieved.insert(index)
        case .top(let number, let lines):
            guard let index = lookup(number, output: output) else { break }
            guard let sent = stream(index, bodyLines: lines, output: output) else { return true }
            topCount += 1
            topBytes += sent
        case .dele(let number):
            guard let index = lookup(number, output: output) else { break }
            deleted.insert(index)
            output.send(POP3Response.ok("Marked to be deleted.").bytes)
        case .rset:
            // RFC 1939 §5: unmark every message marked as deleted; as Dovecot, forget pending \Seen marks too.
            deleted.removeAll()
            retrieved.removeAll()
            output.send(POP3Response.ok("").bytes)
        case .noop:
            output.send(POP3Response.ok("").bytes)
        case .uidl(nil):
            let lines = liveIndices.map { "\($0 + 1) \(uidl(of: $0))" }
            output.send(POP3Response.multiline(first: "", lines: lines).bytes)
        case .uidl(let number?):
            guard let index = lookup(number, output: output) else { break }
            output.send(POP3Response.ok("\(number) \(uidl(of: index))").bytes)
        case .capa:
            output.send(Self.capabilities.response.bytes)
        case .quit:
            update(output: output)
            return true
        case .user, .pass, .apop, .auth, .stls, .utf8:
            output.send(POP3Response.err(code: nil, "Unknown command.").bytes)
        }
        return false
    }

    /// RFC 2449 §5 in the TRANSACTION state: no USER, SASL or STLS any more.
    static let capabilities = POP3Capabilities(saslMechanisms: [], user: false, stls: false, implementation: "Aerie")

    /// The transport lost the connection without QUIT: deletions are dropped (RFC 1939 §6), \Seen marks are kept
    /// as Dovecot keeps them. Safe to call more than once and after QUIT.
    public func connectionClosed() {
        guard !finished else { return }
        finished = true
        do {
            try markSeen()
        } catch {
            log.error(logCategory, "Couldn't update \\Seen flags: \(error)")
        }
    }

    // MARK: - UPDATE (RFC 1939 §6)

    func update(output: some POP3Output) {
        finished = true
        do {
            try markSeen()
            let targets = deleted.sorted().map { messages[$0].uid }
            if !targets.isEmpty {
                _ = try mailbox.store(uids: targets, flags: MessageFlags(system: .deleted), mode: .add, unchangedSince: nil)
                expungedCount = try mailbox.expunge(uids: targets).count
            }
        } catch {
            log.error(logCategory, "Couldn't expunge messages at QUIT: \(error)")
            output.send(Self.errorResponse(error).bytes)
            return
        }
        output.send(POP3Response.ok(deleted.isEmpty ? "Logging out." : "Logging out, messages deleted.").bytes)
    }

    /// Adds \Seen to the messages RETR sent (and not deleted) that lack it.
    func markSeen() throws(StorageError) {
        let uids = retrieved.subtracting(deleted).sorted().map { messages[$0] }
            .filter { !$0.flags.system.contains(.seen) }.map(\.uid)
        guard !uids.isEmpty else { return }
        _ = try mailbox.store(uids: uids, flags: MessageFlags(system: .seen), mode: .add, unchangedSince: nil)
        retrieved.removeAll()
    }

    // MARK: - Helpers

    /// Indices of the messages not marked as deleted, ascending.
    var liveIndices: [Int] { messages.indices.filter { !deleted.contains($0) } }

    /// RFC 1939 §5: a message number that exists and is not marked as deleted; otherwise answers -ERR.
    func lookup(_ number: Int, output: some POP3Output) -> Int? {
        guard number >= 1, number <= messages.count else {
            output.send(POP3Response.err(code: nil, "There's no message \(number).").bytes)
            return nil
        }
        guard !deleted.contains(number - 1) else {
            output.send(POP3Response.err(code: nil, "Message is deleted.").bytes)
            return nil
        }
        return number - 1
    }

    /// `pop3_uidl_format` expanded for one message; the Maildir base name stands for `%f` and `%g`.
    func uidl(of index: Int) -> String {
        let record = messages[index]
        let base = String(record.fileName.prefix { $0 != ":" })
        return POP3UIDL.format(uidlFormat, uidValidity: uidValidity, uid: record.uid, guid: base, md5: nil, fileName: base)
    }

    /// RFC 3206: what a storage failure looks like to the client (never a server path).
    static func errorResponse(_ error: StorageError) -> POP3Response {
        switch error {
        case .lockTimeout: .err(code: .inUse, "Mailbox is locked, try again later.")
        case .messageNotFound: .err(code: nil, "Message was expunged by another session.")
        case .quotaExceeded: .err(code: .sysPerm, "Quota exceeded.")
        default: .err(code: .sysTemp, "Internal error occurred. Refer to server log for more information.")
        }
    }
}
