import AerieAuth
import AerieConfig
import AerieCore
import AerieStorage
import IMAPProtocol
import IMAPSession
import NIOCore
import NIOPosix
import Synchronization

/// How a logged-in user's mail store is found: `mail_path` with `~` and `%{user}`, the layout, the special folders.
struct MailAccess: Sendable {
    var mailPath: String
    var layout: MailboxLayout
    var inboxPath: String?
    var indexPath: String?
    var sessionSettings: MailSessionSettings
    /// Blocking mail I/O runs here, never on an event loop, shared fairly between users: reads on `pool` (a permit
    /// per core), and work that waits on fsync on `writePool` (wide, so a few fsyncs cannot stall every other session).
    var pool: FairMailPool
    var writePool: FairMailPool

    init(settings: AerieSettings, pool: FairMailPool, writePool: FairMailPool) {
        mailPath = settings.mailPath
        layout = settings.mailboxListLayout.lowercased() == "fs" ? .fs : .maildirPlusPlus
        inboxPath = settings.value(forKey: "mail_inbox_path").flatMap { $0.isEmpty ? nil : $0 }
        indexPath = settings.value(forKey: "mail_index_path").flatMap { $0.isEmpty ? nil : $0 }
        let autoMailboxes = settings.namespaces.filter(\.inbox).flatMap(\.mailboxes).map {
            MailSessionSettings.AutoMailbox(name: $0.name, specialUse: $0.specialUse, auto: $0.auto)
        }
        sessionSettings = MailSessionSettings(
            appendLimit: Self.appendLimit(settings: settings), autoMailboxes: autoMailboxes,
            separator: Self.separator(settings: settings, layout: layout),
            searchTimeLimit: settings.duration(forKey: "imap_search_time_limit") ?? .seconds(30))
        self.pool = pool
        self.writePool = writePool
    }

    /// The largest APPEND literal the framer takes after login.
    static let maxAppendLiteral = 64 * 1024 * 1024

    /// RFC 7889 APPENDLIMIT: `quota_mail_size` (as LMTP uses it; 0 or unlimited: only the literal bound).
    static func appendLimit(settings: AerieSettings) -> Int {
        let size = settings.size(forKey: "quota_mail_size") ?? 0
        return size == 0 || size == UInt64.max ? maxAppendLiteral : min(maxAppendLiteral, Int(clamping: size))
    }

    /// The hierarchy separator clients see, as Dovecot picks it: the INBOX namespace's `separator`, else the mailbox
    /// list's own: `.` for Maildir++ and `/` for LAYOUT=fs.
    static func separator(settings: AerieSettings, layout: MailboxLayout) -> Character {
        let namespace = settings.namespaces.first(where: \.inbox) ?? settings.namespaces.first
        if let configured = namespace?.separator.first { return configured }
        return layout == .fs ? "/" : "."
    }

    /// Opens (creating if needed) the user's mail store.
    func store(for user: AuthenticatedUser) throws -> MailStore {
        let root = try Self.expand(mailPath, user: user, what: "mail_path")
        let configuration = MailStoreConfiguration(
            root: root, layout: layout, inboxPath: try inboxPath.map { try Self.expand($0, user: user, what: "mail_inbox_path") },
            indexPath: try indexPath.map { try Self.expand($0, user: user, what: "mail_index_path") },
            separator: sessionSettings.separator)
        return try MailStore(configuration: configuration)
    }

    /// Opens the user's store and the IMAP session on it, with the configured special mailboxes in place.
    func openSession(for user: AuthenticatedUser, log: any LogSink, sessionID: String) throws -> MailSession {
        let session = MailSession(
            user: user, store: try store(for: user), settings: sessionSettings, log: log, sessionID: sessionID)
        session.prepareAutoMailboxes()
        return session
    }

    /// `~` is the user's home (from the userdb); `%{user}`-style variables refuse names that could escape a path.
    static func expand(_ template: String, user: AuthenticatedUser, what: String) throws -> String {
        var path = template
        if path == "~" || path.hasPrefix("~/") {
            guard !user.home.isEmpty else {
                throw ServerStartError("\(what) = \(template) uses ~ but user \(user.user) has no home directory in the userdb")
            }
            path = user.home + path.dropFirst()
        }
        do {
            path = try UserVariables.expandPath(path, user: user.user)
        } catch {
            throw ServerStartError("\(what) = \(template): cannot expand for user \(user.user): \(error)")
        }
        guard path.hasPrefix("/") else {
            throw ServerStartError("\(what) = \(template) is not an absolute path for user \(user.user)")
        }
        return path
    }
}

/// Writes a mailbox command's responses from a pool thread to the connection, in chunks, waiting for each large
/// chunk to reach the socket so a FETCH of a whole mailbox never piles up in memory.
final class ChannelOutput: IMAPOutput, @unchecked Sendable {
    private let channel: any Channel
    /// The pool whose thread writes, and for whom: waiting for the client gives the permit back.
    private let pool: (FairMailPool, user: String)?
    /// Responses are copied once, into the buffer that goes to the channel as it is.
    private var pending: ByteBuffer
    private(set) var bytesWritten = 0
    private static let chunkSize = 64 * 1024
    /// Most answers are a line or two: the buffer grows towards a chunk only for those that are not.
    private static let initialCapacity = 1024

    /// A client that takes none of a 64 KiB chunk for this long is disconnected, which frees the writing thread.
    static let stallLimit = TimeAmount.minutes(5)

    init(channel: any Channel, pool: (FairMailPool, user: String)? = nil) {
        self.channel = channel
        self.pool = pool
        pending = channel.allocator.buffer(capacity: Self.initialCapacity)
    }

    func send(_ response: IMAPResponse) { sendRaw(response.bytes) }

    func sendRaw(_ bytes: [UInt8]) {
        pending.writeBytes(bytes)
        if pending.readableBytes >= Self.chunkSize { flush(wait: true) }
    }

    /// What is buffered and not yet handed to the channel, for the caller to write (from the event loop).
    func takePending() -> ByteBuffer {
        let buffer = pending
        pending = channel.allocator.buffer(capacity: 0)
        return buffer
    }

    /// Hands what is buffered to the channel; with `wait`, blocks this pool thread until it is written.
    func flush(wait: Bool = false) {
        guard pending.readableBytes > 0 else { return }
        let buffer = pending
        bytesWritten += buffer.readableBytes
        pending = channel.allocator.buffer(capacity: Self.initialCapacity)
        let future = channel.writeAndFlush(buffer)
        guard wait else { return }
        let channel = channel
        let stalled = channel.eventLoop.scheduleTask(in: Self.stallLimit) { channel.close(promise: nil) }
        if let (pool, user) = pool {
            pool.whileBlocked(user: user) { _ = try? future.wait() }
        } else {
            _ = try? future.wait()
        }
        stalled.cancel()
    }
}
