import AerieAuth
import AerieConfig
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
    /// `service imap|pop3|lmtp { client_limit process_limit }`; one for the server's lifetime.
    var sessionLimits = ServiceSessionLimits()
    /// `login_trusted_networks`: clients that may tell us another client's address (IMAP ID).
    var loginTrustedNetworks = CIDRList([])
    /// `haproxy_trusted_networks` and `haproxy_timeout`, for `haproxy = yes` listeners.
    var haproxyTrustedNetworks = CIDRList([])
    var haproxyTimeout: Duration = .seconds(3)

    /// SCRAM-SHA-256-PLUS is configured: TLS connections need their exporter secret (`TLSExporter`).
    var offersChannelBinding: Bool {
        imap.sessionSettings.auth.mechanisms.contains(where: \.bindsChannel)
            || pop3.auth.mechanisms.contains(where: \.bindsChannel)
    }
    /// In the login process: where authenticated connections go (the mail service); nil serves them here.
    var handoff: LoginHandoffSender?
    /// As root: LMTP recipients of another uid/gid are written by the master's `lmtp-deliver` workers.
    var uidDelivery: LMTPUIDDeliveryClient?
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

/// `service imap|pop3|lmtp { client_limit process_limit }`: Dovecot serves at most process_limit × client_limit
/// sessions of a service; Aerie's one mail service holds them all and counts them the same (logged-in IMAP and POP3
/// sessions, LMTP connections). Kept across reloads (its counts belong to live connections).
final class ServiceSessionLimits: Sendable {
    private struct Counter {
        var count = 0
        var limit: Int?
    }

    private let counters = Mutex<[String: Counter]>([:])

    /// The services counted; their Dovecot names.
    static let services = ["imap", "pop3", "lmtp"]

    /// New limits (nil: none) from the configuration.
    func configure(_ settings: AerieSettings) {
        let defaultClients = settings.number(forKey: "default_client_limit") ?? 1000
        let defaultProcesses = settings.number(forKey: "default_process_limit") ?? 100
        counters.withLock { counters in
            for name in Self.services {
                let service = settings.service(named: name)
                let clients = service?.clientLimit.map(UInt64.init) ?? defaultClients
                let processes = service?.processLimit.map(UInt64.init) ?? defaultProcesses
                let (product, overflow) = clients.multipliedReportingOverflow(by: processes)
                counters[name, default: Counter()].limit = overflow || product >= UInt64(Int.max) ? nil : Int(product)
            }
        }
    }

    func limit(_ service: String) -> Int? { counters.withLock { $0[service]?.limit } }

    func tryAcquire(_ service: String) -> Bool {
        counters.withLock { counters in
            var counter = counters[service, default: Counter()]
            if let limit = counter.limit, counter.count >= limit { return false }
            counter.count += 1
            counters[service] = counter
            return true
        }
    }

    func release(_ service: String) {
        counters.withLock { $0[service]?.count -= 1 }
    }
}
