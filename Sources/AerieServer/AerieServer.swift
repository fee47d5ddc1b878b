public import AerieConfig
public import AerieCore
import AerieAuth
import CAerieSystem
import Dispatch
import IMAPProtocol
import IMAPSession
import LMTPSession
import POP3Session
import ProxyProtocol
import NIOCore
import NIOPosix
import NIOSSL
import SASL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public struct ServerStartError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The server: listeners, shared limits and the auth service. One process, NIO event loops, no thread per connection.
public final class AerieServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let log: any LogSink
    private let state: Mutex<ConnectionEnvironment>
    private let channels = Mutex<[any Channel]>([])
    let registry = ConnectionRegistry()
    /// Accepted connections not yet closed, relayed TLS sessions included: a retiring login process exits at 0.
    private let accepted = Atomic<Int>(0)
    private let resuming = Atomic<Int>(0)
    /// `aerie adm logins disable|enable`: kept across reloads.
    let loginSwitch = LoginSwitch()
    /// Sessions per service (`client_limit` × `process_limit`); kept across reloads.
    let sessionLimits = ServiceSessionLimits()
    /// Pre-login limits; kept across reloads, which change its settings.
    let preLogin = PreLoginLimiter(settings: .init(limit: 1000))
    private let housekeepingTask = Mutex<RepeatedTask?>(nil)
    private let pool: PasswordHashingPool
    private let mailPool: FairMailPool
    private let mailWritePool: FairMailPool
    public let listeners: [ListenerPlan]

    /// Validates everything that can fail (TLS files, auth databases, listener plan) before binding anything.
    private let keeper: KeyKeeper?
    /// Who owns unix sockets whose listener names no user: the account the server drops to.
    private let socketOwner: ServiceAccount?
    /// Requests to the auth process; nil: authentication runs in this process (tests, tools).
    private let authClient: AuthProcessClient?
    /// The auth process's socket, for `aerie adm --host` commands it answers.
    let authSocketPath: String?
    /// `service aerie-admin`: `aerie adm` over TCP with client certificates; nil when not configured.
    let adminTLS: AdminTLS?
    /// In the login process: the mail service's hand-off socket.
    private let handoff: LoginHandoffSender?

    /// `checked`: the result of `Preflight.check` on this configuration, when the caller already ran it.
    /// `authSocketPath`: the auth process's socket (`AuthProcess`); nil authenticates in this process.
    public init(
        config: LoadedConfig, log: any LogSink, keeper: KeyKeeper? = nil, checked: Preflight? = nil,
        authSocketPath: String? = nil, handoff: LoginHandoffSender? = nil,
        authConnector: (@Sendable () -> Int32)? = nil
    ) throws {
        self.log = log
        self.handoff = handoff
        self.keeper = keeper
        keeper?.whenGone { [log] in
            log.error("tls", "TLS key keeper is gone: new TLS handshakes fail until this process is restarted")
        }
        self.pool = PasswordHashingPool()
        self.mailPool = FairMailPool(permits: max(2, System.coreCount))
        self.mailWritePool = FairMailPool(permits: Self.mailWriteThreadCount)
        let settings = config.settings.forProtocol("imap")
        let checked = try checked ?? Preflight.check(config: config, log: log)
        self.listeners = checked.listeners
        self.socketOwner = try? ServiceAccount.lookup(
            user: settings.mailUID.isEmpty ? settings.defaultInternalUser : settings.mailUID, group: settings.mailGID)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        self.group = group
        if let authConnector {
            self.authClient = AuthProcessClient(socketPath: "", group: group, log: log, connector: authConnector)
        } else {
            self.authClient = authSocketPath.map { AuthProcessClient(socketPath: $0, group: group, log: log) }
        }
        self.authSocketPath = authSocketPath
        // The admin listener is the mail service's; the login process (chrooted) never reads its CA.
        self.adminTLS = handoff == nil ? try AdminTLS.prepare(settings: config.settings, keeper: keeper) : nil
        if authSocketPath != nil { Self.prepareSecondFactorDirectory(config.settings) }
        var environment = try Self.makeEnvironment(
            base: config.settings, checked: checked, log: log, pool: pool, mailPools: (mailPool, mailWritePool),
            registry: registry, loginSwitch: loginSwitch, preLogin: preLogin, authClient: authClient)
        environment.handoff = handoff
        sessionLimits.configure(config.settings)
        environment.sessionLimits = sessionLimits
        self.state = Mutex(environment)
    }

    /// Writes mostly wait on the disk (fsync of every saved message): with one thread per core a few fsyncs would
    /// stall every other session, so their pool is wider than the CPU. Reads keep a thread per core: waking one of
    /// many cold threads per command made request/response clients (POP3 RETR) ~1.5x slower.
    static var mailWriteThreadCount: Int { min(64, max(16, 8 * System.coreCount)) }

    static func makeEnvironment(
        base: AerieSettings, checked: Preflight, log: any LogSink, pool: PasswordHashingPool,
        mailPools: (read: FairMailPool, write: FairMailPool),
        registry: ConnectionRegistry, loginSwitch: LoginSwitch = LoginSwitch(),
        preLogin: PreLoginLimiter = PreLoginLimiter(settings: .init(limit: 1000)),
        previousUserIP: UserIPLimiter? = nil, previousLMTPConcurrency: LMTPUserConcurrency? = nil,
        authClient: AuthProcessClient? = nil
    ) throws -> ConnectionEnvironment {
        let settings = base.forProtocol("imap")
        let tlsContext = checked.tlsContext
        let authenticator: any Authenticator
        let userLookup: @Sendable (String) async -> AuthResult
        if let authClient {
            authenticator = authClient
            userLookup = { await authClient.lookup($0) }
        } else {
            let authService = try AuthService(
                configuration: checked.auth, log: log, pool: pool, registry: Self.authDrivers)
            authenticator = authService
            userLookup = { await authService.lookup($0) }
        }
        let mechanisms = checked.mechanisms
        let sessionSettings = IMAPSessionSettings(
            greeting: settings.loginGreeting,
            auth: LoginAuthSettings(
                mechanisms: mechanisms, allowCleartextWithoutTLS: Self.cleartextAllowed(settings),
                failureDelay: settings.authFailureDelay),
            appendLimit: MailAccess.appendLimit(settings: settings), unauthenticate: settings.imapUnauthenticate)
        let pop3Settings = base.forProtocol("pop3")
        let pop3 = POP3SessionSettings(
            greeting: pop3Settings.loginGreeting,
            auth: LoginAuthSettings(
                mechanisms: mechanisms, allowCleartextWithoutTLS: Self.cleartextAllowed(pop3Settings),
                failureDelay: pop3Settings.authFailureDelay),
            uidlFormat: pop3Settings.value(forKey: "pop3_uidl_format") ?? "%08Xu%08Xv")
        let lmtpSettings = base.forProtocol("lmtp")
        var lmtp = LMTPSessionSettings(
            hostname: lmtpSettings.value(forKey: "hostname").flatMap { $0.isEmpty ? nil : $0 } ?? Self.hostname(),
            recipientDelimiter: lmtpSettings.value(forKey: "recipient_delimiter") ?? "+",
            saveToDetailMailbox: lmtpSettings.value(forKey: "lmtp_save_to_detail_mailbox") == "yes",
            addReceivedHeader: lmtpSettings.value(forKey: "lmtp_add_received_header") != "no")
        // quota_mail_size 0 and unlimited both mean no limit, as in Dovecot.
        let mailSize = lmtpSettings.size(forKey: "quota_mail_size") ?? 0
        lmtp.maxMessageSize = mailSize == UInt64.max ? 0 : Int(clamping: mailSize)
        let concurrencyLimit = Int(clamping: lmtpSettings.number(forKey: "lmtp_user_concurrency_limit") ?? 10)
        let lmtpConcurrency = previousLMTPConcurrency ?? LMTPUserConcurrency(limit: concurrencyLimit)
        lmtpConcurrency.limit = concurrencyLimit
        let maxLine = max(1024, settings.imapMaxLineLength)
        let loginService = settings.service(named: "imap-login")
        // Kept across reloads (its slots belong to live connections); new limits apply from now on.
        preLogin.settings = PreLoginLimiter.Settings(
            limit: loginService?.clientLimit ?? Int(clamping: settings.number(forKey: "default_client_limit") ?? 1000),
            perIP: Int(clamping: settings.number(forKey: "login_max_unauthenticated_per_ip") ?? 20),
            ratePerSecond: Int(clamping: settings.number(forKey: "login_max_connection_rate_per_ip") ?? 10),
            ipv6Prefix: Int(clamping: min(128, settings.number(forKey: "auth_penalty_ipv6_prefix") ?? 64)),
            trusted: CIDRList(
                settings.loginTrustedNetworks
                    + (settings.list(forKey: "login_ip_limits_exempt_networks") ?? ["127.0.0.0/8", "::1"])))
        var environment = ConnectionEnvironment(
            imap: .init(
                sessionSettings: sessionSettings,
                preLoginLimits: IMAPFramingLimits(
                    maxLineLength: IMAPFramingLimits.idCommandLineLength, maxLiteralSize: 8192,
                    maxCommandSize: IMAPFramingLimits.idCommandLineLength + 8192, maxLiteralsPerCommand: 4),
                postLoginLimits: IMAPFramingLimits(
                    maxLineLength: maxLine, maxLiteralSize: MailAccess.maxAppendLiteral,
                    maxCommandSize: MailAccess.maxAppendLiteral + maxLine, maxLiteralsPerCommand: 64,
                    spoolThreshold: 256 * 1024, maxSynchronizingLiteralSize: MailAccess.appendLimit(settings: settings))),
            pop3: pop3,
            lmtp: lmtp,
            authenticator: authenticator,
            userLookup: userLookup,
            log: log,
            tlsContext: tlsContext,
            clientCertificates: checked.clientCertificates,
            loginTimeout: settings.loginTimeout,
            idleTimeout: .seconds(30 * 60),
            maxPipelinedPreLogin: 32,
            maxPipelinedPostLogin: 1000,
            preLogin: preLogin,
            registry: registry,
            loginSwitch: loginSwitch,
            mailAccess: MailAccess(settings: settings, pool: mailPools.read, writePool: mailPools.write),
            userIPConnections: previousUserIP?.limit == settings.mailMaxUseripConnections
                ? previousUserIP! : UserIPLimiter(limit: settings.mailMaxUseripConnections),
            lmtpConcurrency: lmtpConcurrency
        )
        environment.loginTrustedNetworks = CIDRList(settings.loginTrustedNetworks)
        environment.haproxyTrustedNetworks = CIDRList(settings.haproxyTrustedNetworks)
        environment.haproxyTimeout = settings.haproxyTimeout
        environment.tlsHandshakeTimeout = settings.duration(forKey: "login_tls_handshake_timeout") ?? .seconds(10)
        return environment
    }

    /// Dovecot 2.4: under `ssl = required` every authentication needs TLS, whatever `auth_allow_cleartext` says.
    /// Aerie's mechanisms (PLAIN, LOGIN) are all cleartext ones, so refusing cleartext refuses them all.
    static func cleartextAllowed(_ settings: AerieSettings) -> Bool {
        settings.authAllowCleartext && settings.ssl != .required
    }

    /// Dovecot's default `auth_username_chars`.
    static let dovecotUsernameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@"

    static func authConfiguration(_ settings: AerieSettings) throws -> AuthServiceConfiguration {
        func rule(_ text: String, _ what: String) throws -> AuthDBRule {
            guard let rule = AuthDBRule(rawValue: text) else {
                throw ServerStartError("\(what): invalid value \(text)")
            }
            return rule
        }
        let passdbs = try settings.passdbs.map { db -> PassDBSpec in
            var spec = PassDBSpec(
                name: db.name, driver: db.driver, path: db.passwdFilePath,
                defaultScheme: db.defaultPasswordScheme.isEmpty ? "CRYPT" : db.defaultPasswordScheme, deny: db.deny)
            spec.protocols = db.protocols
            spec.master = db.master
            spec.pass = db.pass
            spec.resultSuccess = try rule(db.resultSuccess, "passdb \(db.name) result_success")
            spec.resultFailure = try rule(db.resultFailure, "passdb \(db.name) result_failure")
            spec.resultInternalFailure = try rule(db.resultInternalFailure, "passdb \(db.name) result_internalfail")
            guard let skip = PassDBSkip(rawValue: db.skip) else {
                throw ServerStartError("passdb \(db.name) skip: invalid value \(db.skip)")
            }
            spec.skip = skip
            spec.mechanisms = db.mechanisms
            spec.usernameFilter = db.usernameFilter
            spec.defaultFields = db.defaultFields
            spec.overrideFields = db.overrideFields
            spec.options = db.fields
            if db.driver == "ldap" {
                spec.options = try ldapOptions(
                    kind: "passdb", name: db.name, section: db.ldap, fields: db.fieldTemplates, settings: settings)
            } else if db.driver == "sql" {
                spec.options = try sqlOptions(kind: "passdb", name: db.name, section: db.sql, settings: settings)
            }
            return spec
        }
        let userdbs = try settings.userdbs.map { db -> UserDBSpec in
            var spec = UserDBSpec(name: db.name, driver: db.driver, path: db.passwdFilePath)
            spec.protocols = db.protocols
            spec.resultSuccess = try rule(db.resultSuccess, "userdb \(db.name) result_success")
            spec.resultFailure = try rule(db.resultFailure, "userdb \(db.name) result_failure")
            spec.resultInternalFailure = try rule(db.resultInternalFailure, "userdb \(db.name) result_internalfail")
            guard let skip = UserDBSkip(rawValue: db.skip) else {
                throw ServerStartError("userdb \(db.name) skip: invalid value \(db.skip)")
            }
            spec.skip = skip
            spec.defaultFields = db.defaultFields
            spec.overrideFields = db.overrideFields
            spec.options = db.fields
            spec.options["static_allow_all_users"] = db.staticAllowAllUsers ? "yes" : "no"
            if db.driver == "ldap" {
                spec.options = try ldapOptions(
                    kind: "userdb", name: db.name, section: db.ldap, fields: db.fieldTemplates, settings: settings)
            } else if db.driver == "sql" {
                spec.options = try sqlOptions(kind: "userdb", name: db.name, section: db.sql, settings: settings)
            }
            return spec
        }
        guard !passdbs.isEmpty else { throw ServerStartError("no passdb is configured: nobody could log in") }
        // mail_uid/mail_gid fill in users whose passwd-file line leaves uid/gid empty (virtual users).
        let mailAccount =
            settings.mailUID.isEmpty ? nil : try ServiceAccount.lookup(user: settings.mailUID, group: settings.mailGID)
        var configuration = AuthServiceConfiguration(
            passdbs: passdbs, userdbs: userdbs, allowWeakSchemes: settings.authAllowWeakSchemes,
            firstValidUID: settings.firstValidUID, lastValidUID: settings.lastValidUID,
            firstValidGID: settings.firstValidGID, lastValidGID: settings.lastValidGID,
            verbose: settings.authVerbose, debug: settings.authDebug, usernameFormat: settings.authUsernameFormat)
        configuration.defaultUID = mailAccount?.uid
        configuration.defaultGID = mailAccount?.gid
        configuration.usernameChars = settings.value(forKey: "auth_username_chars") ?? Self.dovecotUsernameChars
        configuration.defaultDomain = settings.value(forKey: "auth_default_domain") ?? ""
        configuration.usernameTranslation = settings.value(forKey: "auth_username_translation") ?? ""
        configuration.masterUserSeparator = settings.value(forKey: "auth_master_user_separator") ?? ""
        configuration.cacheSize = settings.authCacheSize
        configuration.cacheTTL = settings.authCacheTTL
        configuration.cacheNegativeTTL = settings.authCacheNegativeTTL
        configuration.penalty = AuthPenaltySettings(
            failureDelay: settings.authFailureDelay,
            maxDelay: settings.duration(forKey: "auth_penalty_max_delay") ?? .seconds(15),
            banFailures: Int(clamping: settings.number(forKey: "auth_ban_failures") ?? 20),
            banDistinctUsers: Int(clamping: settings.number(forKey: "auth_ban_distinct_users") ?? 10),
            banWindow: settings.duration(forKey: "auth_ban_window") ?? .seconds(600),
            banTime: settings.duration(forKey: "auth_ban_time") ?? .seconds(3600),
            ipv6Prefix: Int(clamping: min(128, settings.number(forKey: "auth_penalty_ipv6_prefix") ?? 64)),
            trustedNetworks: settings.loginTrustedNetworks)
        for service in ["imap", "pop3"] {
            let delay = settings.forProtocol(service).authFailureDelay
            if delay != settings.authFailureDelay { configuration.failureDelays[service] = delay }
            if settings.forProtocol(service).string(forKey: "auth_main_password_alone") == "no" {
                configuration.mainPasswordAloneRefused.insert(service)
            }
        }
        if !settings.stateDir.isEmpty { configuration.secondFactorDirectory = settings.stateDir + "/auth" }
        configuration.totpSeparator = settings.string(forKey: "auth_totp_separator") ?? ":"
        guard !configuration.totpSeparator.isEmpty, !configuration.totpSeparator.contains(where: \.isNumber) else {
            throw ServerStartError("auth_totp_separator must be non-empty and hold no digit: it ends the password")
        }
        configuration.oauth2 = try oauth2Settings(settings)
        if let text = settings.string(forKey: "auth_rehash_scheme"), !text.isEmpty {
            guard let target = RehashTarget(parsing: text) else {
                throw ServerStartError("auth_rehash_scheme: expected a strong SCHEME [rounds=N], not \(text)")
            }
            configuration.rehashTarget = target
        }
        return configuration
    }

    // MARK: - Running

    /// Binds every listener. Call before dropping privileges, so ports below 1024 work.
    public func bind() async throws {
        for plan in listeners {
            let bootstrap = makeBootstrap(plan)
            do {
                let channel: any Channel
                if let socket = plan.unixSocket {
                    channel = try await bootstrap.bind(unixDomainSocketPath: socket.path, cleanupExistingSocketFile: true).get()
                    try socket.applyPermissions(defaultOwner: socketOwner)
                } else {
                    channel = try await bootstrap.bind(host: plan.host, port: plan.port).get()
                }
                channels.withLock { $0.append(channel) }
                log.info("master", "Listening for \(plan.kind.rawValue.uppercased()) on \(plan.description)")
            } catch {
                throw ServerStartError("Cannot listen on \(plan.description): \(error)")
            }
        }
        startHousekeeping()
    }

    /// Serves listening sockets the master bound (`ListenerSockets`), one per listener plan in order.
    /// `except`: the listeners the login process serves instead (issue 11).
    public func adoptListeners(_ fds: [Int32], except: [ListenerPlan] = []) async throws {
        let listeners = self.listeners.filter { !except.contains($0) }
        guard fds.count == listeners.count else {
            throw ServerStartError(
                "the configuration now has \(listeners.count) listeners, aerie serve bound \(fds.count): listener "
                    + "changes take effect only after a restart of aerie serve")
        }
        for (plan, fd) in zip(listeners, fds) {
            do {
                let channel = try await makeBootstrap(plan).withBoundSocket(fd).get()
                channels.withLock { $0.append(channel) }
                log.info("master", "Listening for \(plan.kind.rawValue.uppercased()) on \(plan.description)")
            } catch {
                throw ServerStartError("Cannot serve \(plan.description): \(error)")
            }
        }
        startHousekeeping()
    }

    private func makeBootstrap(_ plan: ListenerPlan) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { [self] channel in
                accepted.add(1, ordering: .relaxed)
                channel.closeFuture.whenComplete { [self] _ in accepted.subtract(1, ordering: .relaxed) }
                return channel.eventLoop.makeCompletedFuture {
                    try self.initialize(channel: channel, plan: plan)
                }
            }
    }

    /// The login process: serves the IMAP and POP3 listening sockets the master bound (issue 11).
    public func adopt(listeners adopted: [(ListenerPlan, Int32)]) async throws {
        for (plan, fd) in adopted {
            let channel = try await makeBootstrap(plan).withBoundSocket(fd).get()
            channels.withLock { $0.append(channel) }
            log.info("imap-login", "Listening for \(plan.kind.rawValue.uppercased()) on \(plan.description)")
        }
        startHousekeeping()
    }

    /// The mail service: a connection the login process authenticated, with its state (`LoginHandoff`).
    public func resume(handoffBytes: [UInt8], fd: Int32) {
        guard let header = try? LoginHandoff.decode(handoffBytes), header.service == "imap" || header.service == "pop3"
        else {
            log.error("master", "Malformed hand-off from the login process: connection dropped")
            close(fd)
            return
        }
        let environment = state.withLock { $0 }
        // Until the connection is registered (`liveConnections`): a per-uid process must not count as idle.
        resuming.add(1, ordering: .relaxed)
        ClientBootstrap(group: group)
            .channelOption(.autoRead, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler: any ChannelHandler =
                        header.service == "imap"
                        ? SessionChannelHandler(
                            environment: environment, service: IMAPService(environment: environment, handoff: header))
                        : SessionChannelHandler(
                            environment: environment, service: POP3Service(environment: environment, handoff: header))
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .withConnectedSocket(fd)
            .always { [self] _ in resuming.subtract(1, ordering: .relaxed) }
            .whenFailure { [log] error in
                close(fd)
                log.error("master", "Cannot resume a handed-over session: \(error)")
            }
    }

    /// Every few seconds: forget quiet per-IP rate buckets, and after a burst of connections hand the freed heap
    /// back to the kernel, so the memory a flood took does not stay with the process.
    func startHousekeeping() {
        let preLogin = self.preLogin
        // The login process has no global dispatch queue to use (see `EventLoopTaskExecutor`): it trims in place.
        let inPlace = handoff != nil
        let task = group.next().scheduleRepeatedTask(initialDelay: .seconds(5), delay: .seconds(5)) { _ in
            if preLogin.housekeeping(now: .now) {
                if inPlace {
                    aerie_malloc_trim()
                } else {
                    DispatchQueue.global(qos: .utility).async { aerie_malloc_trim() }
                }
            }
        }
        housekeepingTask.withLock { $0 = task }
    }

    /// Keeps a listening channel so `shutdown` closes it first.
    func adoptListener(_ channel: any Channel) {
        channels.withLock { $0.append(channel) }
    }

    private func initialize(channel: any Channel, plan: ListenerPlan) throws {
        let environment = state.withLock { $0 }
        var context = ConnectionContext(
            remoteIP: plan.unixSocket == nil ? channel.remoteAddress?.ipAddress ?? "unknown" : "local",
            localIP: plan.unixSocket == nil ? channel.localAddress?.ipAddress ?? "unknown" : "local",
            sessionID: SessionID.make(),
            // Implicit TLS: nothing is read or answered before the handshake, so the greeting may say so.
            isTLS: plan.implicitTLS,
            startTLSAvailable: !plan.implicitTLS && environment.tlsContext != nil && plan.unixSocket == nil,
            remotePort: channel.remoteAddress?.port, localPort: channel.localAddress?.port)
        context.trusted = environment.loginTrustedNetworks.contains(context.remoteIP)
        guard plan.haproxy else {
            let sync = channel.pipeline.syncOperations
            return try Self.install(plan: plan, environment: environment, context: context, sync)
        }
        let proxyHandler = ProxyHeaderHandler(
            trustedNetworks: environment.haproxyTrustedNetworks, timeout: environment.haproxyTimeout,
            log: environment.log, category: plan.kind == .lmtp ? "lmtp" : "\(plan.kind.rawValue)-login"
        ) { header, pipeline in
            let proxied = Self.proxied(context, header, trusted: environment.loginTrustedNetworks)
            try Self.install(plan: plan, environment: environment, context: proxied, pipeline)
        }
        try channel.pipeline.syncOperations.addHandler(proxyHandler)
    }

    /// The connection as a trusted proxy's header describes it: the client's addresses, and whether the client's
    /// own leg used TLS (then STARTTLS is not offered, as Dovecot does for haproxy-terminated TLS).
    static func proxied(_ context: ConnectionContext, _ header: ProxyHeader, trusted: CIDRList) -> ConnectionContext {
        var context = context
        if let source = header.source, let destination = header.destination {
            context.remoteIP = source.address.description
            context.remotePort = source.port
            context.localIP = destination.address.description
            context.localPort = destination.port
        }
        if header.clientUsedTLS {
            context.proxiedTLS = true
            context.startTLSAvailable = false
        }
        context.trusted = trusted.contains(context.remoteIP)
        return context
    }

    /// TLS (implicit-TLS listeners) and the protocol's handler, in that order.
    static func install(
        plan: ListenerPlan, environment: ConnectionEnvironment, context: ConnectionContext,
        _ sync: ChannelPipeline.SynchronousOperations
    ) throws {
        if plan.implicitTLS, let tlsContext = environment.tlsContext {
            try sync.addHandlers(TLSSetup.serverHandlers(environment: environment, context: tlsContext))
        }
        switch plan.kind {
        case .imap:
            let service = IMAPService(environment: environment, context: context)
            try sync.addHandler(SessionChannelHandler(environment: environment, service: service))
        case .pop3:
            let service = POP3Service(environment: environment, context: context)
            try sync.addHandler(SessionChannelHandler(environment: environment, service: service))
        case .lmtp:
            let service = LMTPService(environment: environment, context: context)
            try sync.addHandler(SessionChannelHandler(environment: environment, service: service))
        }
    }

    /// SIGHUP: new certificates and settings for new connections; live connections keep theirs.
    /// Issue 11, lmtp: the master's delivery socket (SOCK_SEQPACKET); LMTP recipients whose uid/gid is not this
    /// process's, or whose IMAP sessions are chrooted (`settings`' mail_chroot, the userdb's chroot), are delivered
    /// through it from now on.
    public func enableUIDDelivery(socket: Int32, settings: AerieSettings) {
        LMTPUIDDeliveryClient.chroots.withLock { $0 = MailRoutePolicy(settings: settings, mainAccount: nil) }
        let client = LMTPUIDDeliveryClient(socket: socket)
        state.withLock { $0.uidDelivery = client }
    }

    public func reload(config: LoadedConfig) throws {
        let checked = try Preflight.check(config: config, log: log, keeper: keeper, reload: true)
        if checked.listeners != listeners {
            log.warning("master", "listener changes take effect only after a restart")
        }
        let (previousUserIP, previousLMTP) = state.withLock { ($0.userIPConnections, $0.lmtpConcurrency) }
        let environment = try Self.makeEnvironment(
            base: config.settings, checked: checked, log: log, pool: pool, mailPools: (mailPool, mailWritePool),
            registry: registry, loginSwitch: loginSwitch, preLogin: preLogin, previousUserIP: previousUserIP,
            previousLMTPConcurrency: previousLMTP, authClient: authClient)
        sessionLimits.configure(config.settings)
        var updated = environment
        updated.sessionLimits = sessionLimits
        updated.handoff = handoff
        updated.uidDelivery = state.withLock { $0.uidDelivery }
        if updated.uidDelivery != nil {
            LMTPUIDDeliveryClient.chroots.withLock { $0 = MailRoutePolicy(settings: config.settings, mainAccount: nil) }
        }
        state.withLock { $0 = updated }
        log.info("master", "Configuration and certificates reloaded")
    }

    /// The login process's SIGHUP: only the certificate and key, through its key worker (the configuration, the
    /// users and groups are out of reach in its chroot). New connections get them; live ones keep theirs.
    public func reloadCertificates(config: LoadedConfig) throws {
        let settings = config.settings.forProtocol("imap")
        guard settings.ssl != .no else { return }
        let clientCertificates = state.withLock { $0.clientCertificates }
        let context = try TLSSetup.makeContext(
            settings: settings, keeper: keeper, clientCertificates: clientCertificates)
        state.withLock { $0.tlsContext = context }
        log.info("imap-login", "Certificates reloaded")
    }

    /// Stop accepting, say BYE to every session, wait for them to go (up to `grace`), then stop the loops.
    public func shutdown(grace: Duration = .seconds(5)) async {
        let listening = channels.withLock { channels in
            defer { channels.removeAll() }
            return channels
        }
        for channel in listening { try? await channel.close() }
        housekeepingTask.withLock { $0?.cancel() }
        registry.shutdownAll()
        let deadline = ContinuousClock.now + grace
        while registry.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        await pool.shutdown()
        await mailPool.shutdown()
        await mailWritePool.shutdown()
        try? await group.shutdownGracefully()
    }

    public var liveConnections: Int { registry.count }

    /// Hand-offs being resumed, not yet in `liveConnections`.
    public var resumingConnections: Int { resuming.load(ordering: .relaxed) }

    /// BYE to every connection, then waits (blocking, up to `grace`) for them to close: the login process's
    /// SIGTERM, where no Swift task can run after the chroot (see `SessionChannelHandler.taskExecutor`).
    public func sayGoodbyeToEveryone(grace: Duration) {
        registry.shutdownAll()
        let deadline = ContinuousClock.now + grace
        while registry.count > 0 && ContinuousClock.now < deadline { usleep(20_000) }
    }

    /// Connections accepted on the listeners and still open, pre-login and relayed ones alike.
    public var acceptedConnections: Int { accepted.load(ordering: .relaxed) }

    /// A retiring login process (issue 11, reload): closes its copies of the listening sockets, so new connections
    /// go to its successor; the connections it has go on. Synchronous: no task may run in the login process's chroot.
    public func stopAccepting() {
        let listening = channels.withLock { channels in
            defer { channels.removeAll() }
            return channels
        }
        for channel in listening { channel.close(promise: nil) }
    }
}

extension AerieServer {
    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(validating: name, as: UTF8.self) ?? "localhost"
    }
}

enum SessionID {
    /// Dovecot's session IDs are 12 base64 characters of randomness; ours look the same in logs.
    static func make() -> String {
        // Two 64-bit draws (a getrandom call each) instead of one per byte: this runs for every connection.
        var generator = SystemRandomNumberGenerator()
        let words = [generator.next(), generator.next()]
        let bytes = words.withUnsafeBytes { Array($0.prefix(9)) }
        return SASLBase64.encode(bytes)
    }
}
