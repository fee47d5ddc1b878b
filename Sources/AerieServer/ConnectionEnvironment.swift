import AerieAuth
import AerieCore
import IMAPProtocol
import IMAPSession
import LMTPSession
import POP3Session
import NIOSSL
import Synchronization

/// Everything a new connection needs, captured when it is accepted; a reload swaps it for later connections only.
struct ConnectionEnvironment: Sendable {
    struct IMAP: Sendable {
        var sessionSettings: IMAPSessionSettings
        var preLoginLimits: IMAPFramingLimits
        var postLoginLimits: IMAPFramingLimits
    }

    var imap: IMAP
    var pop3: POP3SessionSettings
    var lmtp: LMTPSessionSettings
    var authenticator: any Authenticator
    /// The userdb, for LMTP recipients.
    var userLookup: @Sendable (String) async -> AuthenticatedUser?
    var log: any LogSink
    var tlsContext: NIOSSLContext?
    var loginTimeout: Duration
    var idleTimeout: Duration
    var maxPipelinedPreLogin: Int
    var maxPipelinedPostLogin: Int
    var unauthenticatedSlots: ConnectionLimiter
    var registry: ConnectionRegistry
    var mailAccess: MailAccess
}

/// A counting semaphore without waiting: refuses at once when full.
final class ConnectionLimiter: Sendable {
    private let inUse = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func tryAcquire() -> Bool {
        while true {
            let current = inUse.load(ordering: .relaxed)
            if current >= limit { return false }
            if inUse.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing).exchanged {
                return true
            }
        }
    }

    func release() { inUse.subtract(1, ordering: .acquiringAndReleasing) }

    var current: Int { inUse.load(ordering: .relaxed) }
}
