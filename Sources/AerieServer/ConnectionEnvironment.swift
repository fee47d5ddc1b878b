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
    var userLookup: @Sendable (String) async -> AuthResult
    var log: any LogSink
    var tlsContext: NIOSSLContext?
    var clientCertificates: ClientCertificateVerifier?
    var loginTimeout: Duration
    var idleTimeout: Duration
    var maxPipelinedPreLogin: Int
    var maxPipelinedPostLogin: Int
    /// Pre-login limits (all IPs, per IP, per IP per second); one for the server's lifetime.
    var preLogin: PreLoginLimiter
    /// `login_tls_handshake_timeout`: an implicit-TLS or STARTTLS handshake must end within it.
    var tlsHandshakeTimeout: Duration = .seconds(10)
    var registry: ConnectionRegistry
    /// `aerie adm logins disable`: refuses IMAP and POP3 logins with a reason.
    var loginSwitch: LoginSwitch
    var mailAccess: MailAccess
    var userIPConnections: UserIPLimiter
    /// `lmtp_user_concurrency_limit`, counted over all LMTP connections; kept across reloads.
    var lmtpConcurrency: LMTPUserConcurrency
    /// `login_trusted_networks`: clients that may tell us another client's address (IMAP ID).
    var loginTrustedNetworks = CIDRList([])
    /// `haproxy_trusted_networks` and `haproxy_timeout`, for `haproxy = yes` listeners.
    var haproxyTrustedNetworks = CIDRList([])
    var haproxyTimeout: Duration = .seconds(3)
    /// In the login process: where authenticated connections go (the mail service); nil serves them here.
    var handoff: LoginHandoffSender?
}

/// Logged-in connections per user and remote IP (`mail_max_userip_connections`), shared by IMAP and POP3.
final class UserIPLimiter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func tryAcquire(user: String, ip: String) -> Bool {
        counts.withLock { counts in
            let key = user + "\u{0}" + ip
            let current = counts[key, default: 0]
            guard current < limit else { return false }
            counts[key] = current + 1
            return true
        }
    }

    func release(user: String, ip: String) {
        counts.withLock { counts in
            let key = user + "\u{0}" + ip
            let remaining = counts[key, default: 1] - 1
            counts[key] = remaining > 0 ? remaining : nil
        }
    }
}
