public import AerieCore
import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What `aerie adm who` shows of one connection; the connection updates it on its event loop, an admin reads it
/// from anywhere.
final class SessionInfo: Sendable {
    /// "imap", "pop3" or "lmtp".
    let service: String
    let remoteIP: String
    /// Wall-clock seconds since the epoch when the connection was accepted.
    let since: Int
    private let loggedInUser = Mutex<String?>(nil)
    private let received = Atomic<Int>(0)
    private let sent = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)

    init(service: String, remoteIP: String, since: Int = time(nil)) {
        self.service = service
        self.remoteIP = remoteIP
        self.since = since
    }

    var user: String? {
        get { loggedInUser.withLock { $0 } }
        set { loggedInUser.withLock { $0 = newValue } }
    }

    /// Saying goodbye (kicked, timed out, logged out): no longer listed or kicked, though not yet gone.
    var isClosing: Bool {
        get { closed.load(ordering: .relaxed) }
        set { closed.store(newValue, ordering: .relaxed) }
    }

    var bytesIn: Int {
        get { received.load(ordering: .relaxed) }
        set { received.store(newValue, ordering: .relaxed) }
    }

    var bytesOut: Int {
        get { sent.load(ordering: .relaxed) }
        set { sent.store(newValue, ordering: .relaxed) }
    }
}

/// Live connections, so a shutdown can tell each one goodbye and an admin can list or kick them.
final class ConnectionRegistry: Sendable {
    /// Says goodbye (text for the client, reason for the log) and closes; hops to the connection's event loop.
    typealias Goodbye = @Sendable (_ text: String, _ reason: String) -> Void

    private struct Entry {
        var info: SessionInfo
        var goodbye: Goodbye
    }

    private let entries = Mutex<[UInt64: Entry]>([:])
    private let nextID = Atomic<UInt64>(0)

    func register(_ info: SessionInfo, goodbye: @escaping Goodbye) -> UInt64 {
        let id = nextID.add(1, ordering: .relaxed).newValue
        entries.withLock { $0[id] = Entry(info: info, goodbye: goodbye) }
        return id
    }

    func unregister(_ id: UInt64) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    var count: Int { entries.withLock { $0.count } }

    /// Every live connection that is not closing, oldest first.
    var sessions: [SessionInfo] {
        entries.withLock { entries in
            entries.filter { !$0.value.info.isClosing }.sorted { $0.key < $1.key }.map(\.value.info)
        }
    }

    /// Runs every connection's goodbye (each hops to its own event loop).
    func shutdownAll() {
        let hooks = entries.withLock { $0.values.map(\.goodbye) }
        for hook in hooks { hook("Server shutting down.", "Server shutting down") }
    }

    /// Says goodbye to the connections `target` matches; returns how many.
    func kick(_ target: KickTarget, text: String, reason: String) -> Int {
        let hooks = entries.withLock { entries in
            entries.values.filter { !$0.info.isClosing && target.matches($0.info) }.map(\.goodbye)
        }
        for hook in hooks { hook(text, reason) }
        return hooks.count
    }
}

/// Whose connections `aerie adm kick` closes. LMTP connections are never kicked: deliveries continue.
public enum KickTarget: Sendable, Equatable {
    /// The logged-in sessions of one user.
    case user(String)
    /// Every IMAP and POP3 connection, logged in or not.
    case all
    /// Every IMAP and POP3 connection from the network, logged in or not.
    case network(CIDR)

    func matches(_ info: SessionInfo) -> Bool {
        guard info.service != "lmtp" else { return false }
        switch self {
        case .user(let user): return info.user == user
        case .all: return true
        case .network(let network):
            guard let address = IPAddress(info.remoteIP) else { return false }
            return network.contains(address)
        }
    }
}
