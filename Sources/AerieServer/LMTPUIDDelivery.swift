import AerieAuth
import AerieCore
import CAerieSystem
import Dispatch
import Foundation
import LMTPProtocol
import LMTPSession
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 11, lmtp: a recipient whose userdb uid/gid is not the mail service's own gets its copy written by a
/// short-lived `aerie lmtp-deliver` running as that uid/gid, never by the mail user or root. The mail service asks
/// the master over a SOCK_SEQPACKET socket (one JSON message, the sealed message attached as a memfd); the master
/// looks each recipient up again in the auth process, checks the uid/gid policy and starts the worker.
/// `LMTPUIDDeliveryMaster` is the master's side, `LMTPDeliveryWorker` the worker's.
enum LMTPUIDDeliveryWire {
    /// A message larger than this is refused (recipient lists are bounded by the session's RCPT limit).
    static let maximumSize = 256 * 1024

    /// One recipient as the mail service names it: the master looks `user` up itself and trusts nothing else.
    struct Recipient: Codable, Sendable, Equatable {
        var user: String
        var address: String
        var detail: String?
    }

    /// Mail service → master: deliver the attached message to these recipients, all of one uid/gid.
    struct Request: Codable, Sendable, Equatable {
        var id: UInt64
        var uid: UInt32
        var gid: UInt32
        var sender: String
        var recipients: [Recipient]
        var trace: LMTPTrace?
        var sessionID: String
    }

    /// Master → worker: the recipients the master resolved (the userdb's answers, as the master got them from the
    /// auth process, the homes as the worker sees them), with the message attached.
    struct Job: Codable, Sendable {
        var sender: String
        var recipients: [Recipient]
        var users: [AuthenticatedUser]
        var trace: LMTPTrace?
        var sessionID: String
    }

    /// Worker → master, master → mail service: one reply per recipient, in the request's order.
    struct Result: Codable, Sendable, Equatable {
        var id: UInt64
        var replies: [LMTPReply]
    }

    static func encode(_ value: some Encodable) -> [UInt8]? {
        guard let bytes = try? JSONEncoder().encode(value), bytes.count < maximumSize else { return nil }
        return Array(bytes)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> T? {
        try? JSONDecoder().decode(type, from: Data(bytes))
    }

    /// RFC 2033 §4.2: every recipient gets its own reply; this one when its copy's fate is unknown.
    static func temporaryFailure(_ address: String) -> LMTPReply {
        LMTPReply(code: 451, enhanced: "4.3.0", "<\(address)> Temporary internal failure")
    }

    /// The message in a sealed memfd, reopened read-only; nil when the kernel refuses.
    static func sealedCopy(of message: [UInt8]) -> Int32? {
        let fd = aerie_memfd_create("aerie-lmtp")
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var written = 0
        while written < message.count {
            let count = message.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            written += count
        }
        guard aerie_seal_readonly(fd) == 0 else { return nil }
        let readOnly = open("/proc/self/fd/\(fd)", O_RDONLY | O_CLOEXEC)
        return readOnly >= 0 ? readOnly : nil
    }

    /// Reads a whole message descriptor from its start, at most `limit` bytes; nil if it is larger or unreadable.
    static func readMessage(_ fd: Int32, limit: Int) -> [UInt8]? {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size >= 0, info.st_size <= limit
        else { return nil }
        var message = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < message.count {
            let count = message.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done))
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            done += count
        }
        return message
    }
}

/// The mail service's end: sends requests to the master and waits for their results. A master that is gone (or a
/// socket error) answers every waiting recipient 451: the MTA retries, nothing acknowledged is lost.
public final class LMTPUIDDeliveryClient: Sendable {
    private struct State {
        /// Random start: a restarted mail service shares the master's socket and must not take an old answer.
        var nextID = UInt64.random(in: 0..<(1 << 62))
        var waiting: [UInt64: CheckedContinuation<[LMTPReply]?, Never>] = [:]
        var closed = false
    }

    private let socket: Int32
    private let state = Mutex(State())
    private let sendLock = Mutex(())

    /// Takes `socket` (SOCK_SEQPACKET, from the master) and reads its results on a thread of its own.
    public init(socket: Int32) {
        self.socket = socket
        let thread = Thread { [self] in readResults() }
        thread.name = "lmtp-uid-delivery"
        thread.start()
    }

    /// Where this process's recipients are chrooted (`mail_chroot`, the userdb's `chroot`, `/./` in the home), as
    /// the master routes their IMAP sessions (`MailRoutePolicy`); set with the delivery socket and on reloads.
    /// Process-wide: the LMTP handler asks `needsWorker` and `split`, which are static.
    static let chroots = Mutex<MailRoutePolicy?>(nil)

    /// Whether `user`'s IMAP sessions are chrooted (a mail process of its own even with this process's uid/gid).
    static func chrooted(_ user: AuthenticatedUser) -> Bool {
        chroots.withLock { $0?.placement(of: user).chroot.isEmpty == false }
    }

    /// Whether `user` is written by a worker: a uid or gid other than this process's, or a chroot (its IMAP
    /// sessions read inside it, where this unchrooted process would not write).
    static func needsWorker(_ user: AuthenticatedUser) -> Bool {
        user.uid != getuid() || user.gid != getgid() || chrooted(user)
    }

    /// The recipients (by index, in order) this process writes, and those for workers, grouped by uid/gid (one
    /// worker writes all copies of one uid/gid; the master starts one per chroot among them).
    static func split(
        _ users: [AuthenticatedUser], ownUID: UInt32 = getuid(), ownGID: UInt32 = getgid(),
        chrooted: (AuthenticatedUser) -> Bool = chrooted
    ) -> (own: [Int], groups: [[Int]]) {
        var own: [Int] = []
        var groups: [[Int]] = []
        var groupOf: [UInt64: Int] = [:]
        for (index, user) in users.enumerated() {
            guard user.uid != ownUID || user.gid != ownGID || chrooted(user) else {
                own.append(index)
                continue
            }
            let key = UInt64(user.uid) << 32 | UInt64(user.gid)
            if let group = groupOf[key] {
                groups[group].append(index)
            } else {
                groupOf[key] = groups.count
                groups.append([index])
            }
        }
        return (own, groups)
    }

    /// Delivers `delivery` (recipients of one uid/gid) through the master; one reply per recipient, in order.
    func deliver(_ delivery: LMTPDelivery, sessionID: String) async -> [LMTPReply] {
        let failed = delivery.recipients.map { LMTPUIDDeliveryWire.temporaryFailure($0.address) }
        guard let first = delivery.recipients.first, let fd = LMTPUIDDeliveryWire.sealedCopy(of: delivery.message)
        else { return failed }
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        let request = LMTPUIDDeliveryWire.Request(
            id: id, uid: first.user.uid, gid: first.user.gid, sender: delivery.sender,
            recipients: delivery.recipients.map { .init(user: $0.user.user, address: $0.address, detail: $0.detail) },
            trace: delivery.trace, sessionID: sessionID)
        guard let bytes = LMTPUIDDeliveryWire.encode(request) else {
            close(fd)
            return failed
        }
        let replies = await withCheckedContinuation { continuation in
            let accepted = state.withLock { state -> Bool in
                guard !state.closed else { return false }
                state.waiting[id] = continuation
                return true
            }
            guard accepted else {
                close(fd)
                return continuation.resume(returning: nil)
            }
            // A full socket blocks the sender: a dispatch thread, never the cooperative pool.
            DispatchQueue.global().async { [self] in
                let sent = sendLock.withLock { _ in DescriptorPassing.send(socket, bytes, fd: fd) }
                close(fd)
                if !sent { finish(id, nil) }
            }
        }
        guard let replies, replies.count == delivery.recipients.count else { return failed }
        return replies
    }

    private func finish(_ id: UInt64, _ replies: [LMTPReply]?) {
        let continuation = state.withLock { $0.waiting.removeValue(forKey: id) }
        continuation?.resume(returning: replies)
    }

    private func readResults() {
        var buffer = [UInt8](repeating: 0, count: LMTPUIDDeliveryWire.maximumSize)
        while let (bytes, fd) = DescriptorPassing.receive(socket, buffer: &buffer) {
            if fd >= 0 { close(fd) }
            guard let result = LMTPUIDDeliveryWire.decode(LMTPUIDDeliveryWire.Result.self, bytes) else { continue }
            finish(result.id, result.replies)
        }
        let waiting = state.withLock { state in
            state.closed = true
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        for continuation in waiting { continuation.resume(returning: nil) }
    }
}
