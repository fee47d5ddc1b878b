import AerieAuth
import AerieCore
import AerieStorage
import AerieTestSupport
import LMTPProtocol
import LMTPSession

struct TemporaryStoreFailure: Error {}

/// An MTA-side harness: plays the transport's part, answering lookups from a user table and deliveries
/// with `LMTPDeliverer` over temp Maildirs, and records what the client reads.
final class Harness {
    let root = makeTempDirectory("lmtp-harness")
    var session: LMTPSession
    var users: [String: AuthenticatedUser] = [:]
    var lookups: [String] = []
    var deliveries: [LMTPDelivery] = []
    var closed: String?
    var startedTLS = false
    let log = CollectingLog()
    /// Replaces the store for a delivery (a failing disk).
    var storeOverride: ((AuthenticatedUser) throws -> MailStore)?

    /// The `Received:` time stamp of every delivery.
    static let date = "Mon, 01 Jan 2024 00:00:00 +0000"

    init(
        settings: LMTPSessionSettings = LMTPSessionSettings(hostname: "mx.example.org"),
        startTLSAvailable: Bool = false,
        remoteIP: String = "local", isTLS: Bool = false, concurrency: LMTPUserConcurrency? = nil
    ) {
        session = LMTPSession(
            settings: settings,
            context: ConnectionContext(
                remoteIP: remoteIP, localIP: "", sessionID: "S1d", isTLS: isTLS, startTLSAvailable: startTLSAvailable),
            concurrency: concurrency)
        for name in ["alice@example.org", "bob@example.org"] {
            let local = String(name.prefix { $0 != "@" })
            users[name] = AuthenticatedUser(user: name, uid: 1500, gid: 1500, home: "\(root)/\(local)")
        }
    }

    deinit { removeTree(root) }

    func store(for user: AuthenticatedUser) throws -> MailStore {
        try MailStore(configuration: MailStoreConfiguration(root: user.home + "/Maildir", fsync: false))
    }

    /// Feeds bytes and plays every action through; returns the reply lines, CRLF removed.
    @discardableResult
    func feed(_ text: String) -> [String] { feed(Array(text.utf8)) }

    @discardableResult
    func feed(_ bytes: [UInt8]) -> [String] { play(session.receive(bytes)) }

    func play(_ actions: [LMTPSessionAction]) -> [String] {
        var out: [String] = []
        var queue = actions
        while !queue.isEmpty {
            let action = queue.removeFirst()
            switch action {
            case .send(let bytes):
                out += String(decoding: bytes, as: UTF8.self).split(separator: "\r\n").map(String.init)
            case .lookupRecipient(let user):
                precondition(session.isBusy)
                lookups.append(user)
                queue += session.recipientLookedUp(users[user])
            case .deliver(let delivery):
                // Kept without the concurrency slots, which belong to the delivery in flight only.
                var kept = delivery
                kept.recipients = kept.recipients.map {
                    LMTPRecipient(address: $0.address, user: $0.user, detail: $0.detail)
                }
                deliveries.append(kept)
                let replies = LMTPDeliverer.deliver(
                    delivery, store: storeOverride ?? store(for:), log: log, sessionID: "S1d", date: Self.date)
                queue += session.deliveryFinished(replies)
            case .startTLS:
                startedTLS = true
            case .close(let reason):
                closed = reason
            }
        }
        return out
    }

    func inbox(_ user: String, mailbox: String = "INBOX") throws -> (Mailbox, [String]) {
        let opened = try store(for: users[user]!).open(mailbox)
        let texts = try opened.messages.map { String(decoding: try opened.read(uid: $0.uid), as: UTF8.self) }
        return (opened, texts)
    }
}
