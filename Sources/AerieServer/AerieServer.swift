public import AerieConfig
public import AerieCore
import AerieAuth
import IMAPProtocol
import IMAPSession
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

/// One listening socket, as resolved from `service imap-login { inet_listener NAME { … } }`.
public struct ListenerPlan: Sendable, Equatable {
    public var service: String
    public var name: String
    public var host: String
    public var port: Int
    public var implicitTLS: Bool
}

/// The server: listeners, shared limits and the auth service. One process, NIO event loops, no thread per connection.
public final class AerieServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let log: any LogSink
    private let state: Mutex<ConnectionEnvironment>
    private let channels = Mutex<[any Channel]>([])
    private let registry = ConnectionRegistry()
    private let pool: PasswordHashingPool
    private let mailPool: NIOThreadPool
    public let listeners: [ListenerPlan]

    /// Validates everything that can fail (TLS files, auth databases, listener plan) before binding anything.
    private let keeper: KeyKeeper?

    public init(config: LoadedConfig, log: any LogSink, keeper: KeyKeeper? = nil) throws {
        self.log = log
        self.keeper = keeper
        self.pool = PasswordHashingPool()
        self.mailPool = NIOThreadPool(numberOfThreads: max(2, System.coreCount))
        mailPool.start()
        let settings = config.settings.forProtocol("imap")
        self.listeners = try Self.plan(settings: settings, log: log)
        let environment = try Self.makeEnvironment(
            settings: settings, log: log, pool: pool, mailPool: mailPool, registry: registry, previousLimiter: nil,
            keeper: nil)
        self.state = Mutex(environment)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
    }

    /// Resolves the listeners; a plaintext listener exists only where the configuration gives it a port.
    static func plan(settings: AerieSettings, log: any LogSink) throws -> [ListenerPlan] {
        guard settings.protocols.contains("imap") else {
            throw ServerStartError("protocols does not include imap: nothing to serve (this version serves IMAP only)")
        }
        for proto in settings.protocols where proto != "imap" {
            log.warning("master", "protocols includes \(proto), which this version of Aerie does not serve yet")
        }
        var plans: [ListenerPlan] = []
        for listener in settings.service(named: "imap-login")?.inetListeners ?? [] {
            guard let port = listener.port else {
                log.warning(
                    "master",
                    "service imap-login: inet_listener \(listener.name) has no port, so it is not opened (Dovecot would open its default port; write port = 0 to say so)"
                )
                continue
            }
            guard port > 0 else { continue }
            guard port <= 65535 else { throw ServerStartError("inet_listener \(listener.name): port \(port) out of range") }
            if listener.ssl && settings.ssl == .no {
                throw ServerStartError(
                    "inet_listener \(listener.name) has ssl = yes but ssl = no: set ssl = required (the default)")
            }
            for address in listener.address ?? settings.listen {
                for host in Self.hosts(for: address) {
                    plans.append(
                        ListenerPlan(
                            service: "imap-login", name: listener.name, host: host, port: port,
                            implicitTLS: listener.ssl))
                }
            }
        }
        guard !plans.isEmpty else { throw ServerStartError("no IMAP listener has a port: nothing to serve") }
        return plans
    }

    static func hosts(for address: String) -> [String] {
        address.split(whereSeparator: { $0 == "," || $0 == " " }).map { part in
            switch part {
            case "*": "0.0.0.0"
            case "[::]": "::"
            default: String(part)
            }
        }
    }

    static func makeEnvironment(
        settings: AerieSettings, log: any LogSink, pool: PasswordHashingPool, mailPool: NIOThreadPool,
        registry: ConnectionRegistry, previousLimiter: ConnectionLimiter?, keeper: KeyKeeper?
    ) throws -> ConnectionEnvironment {
        let tlsContext: NIOSSLContext? =
            settings.ssl == .no ? nil : try TLSSetup.makeContext(settings: settings, keeper: keeper)
        let authService = try AuthService(configuration: authConfiguration(settings), log: log, pool: pool)
        let mechanisms = try settings.authMechanisms.map { name in
            guard let mechanism = SASLMechanism(rawValue: name.uppercased()) else {
                throw ServerStartError(
                    "auth_mechanisms: \(name) is not supported (supported: \(SASLMechanism.allCases.map { $0.rawValue.lowercased() }.joined(separator: " ")))"
                )
            }
            return mechanism
        }
        let sessionSettings = IMAPSessionSettings(
            greeting: settings.loginGreeting, mechanisms: mechanisms,
            allowCleartextWithoutTLS: settings.authAllowCleartext, failureDelay: settings.authFailureDelay)
        let maxLine = max(1024, settings.imapMaxLineLength)
        let loginService = settings.service(named: "imap-login")
        let unauthenticatedLimit = loginService?.clientLimit ?? 1000
        return ConnectionEnvironment(
            imap: .init(
                sessionSettings: sessionSettings,
                preLoginLimits: IMAPFramingLimits(
                    maxLineLength: 8192, maxLiteralSize: 8192, maxCommandSize: 16384, maxLiteralsPerCommand: 4),
                postLoginLimits: IMAPFramingLimits(
                    maxLineLength: maxLine, maxLiteralSize: 64 * 1024 * 1024,
                    maxCommandSize: 64 * 1024 * 1024 + maxLine, maxLiteralsPerCommand: 64)),
            authenticator: authService,
            log: log,
            tlsContext: tlsContext,
            loginTimeout: settings.loginTimeout,
            idleTimeout: .seconds(30 * 60),
            maxPipelinedPreLogin: 32,
            maxPipelinedPostLogin: 1000,
            unauthenticatedSlots: previousLimiter?.limit == unauthenticatedLimit
                ? previousLimiter! : ConnectionLimiter(limit: unauthenticatedLimit),
            registry: registry,
            mailAccess: MailAccess(settings: settings, pool: mailPool)
        )
    }

    static func authConfiguration(_ settings: AerieSettings) throws -> AuthServiceConfiguration {
        let passdbs = try settings.passdbs.map { db -> PassDBSpec in
            guard db.driver == "passwd-file" else {
                throw ServerStartError("passdb \(db.name): driver \(db.driver) is not supported yet (passwd-file is)")
            }
            return PassDBSpec(
                name: db.name, driver: db.driver, path: db.passwdFilePath,
                defaultScheme: db.defaultPasswordScheme.isEmpty ? "CRYPT" : db.defaultPasswordScheme, deny: db.deny)
        }
        let userdbs = try settings.userdbs.map { db -> UserDBSpec in
            guard db.driver == "passwd-file" else {
                throw ServerStartError("userdb \(db.name): driver \(db.driver) is not supported yet (passwd-file is)")
            }
            return UserDBSpec(name: db.name, driver: db.driver, path: db.passwdFilePath)
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
        return configuration
    }

    // MARK: - Running

    /// Binds every listener. Call before dropping privileges, so ports below 1024 work.
    public func bind() async throws {
        for plan in listeners {
            let bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.autoRead, value: false)
                .childChannelOption(.socketOption(.so_keepalive), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try self.initialize(channel: channel, plan: plan)
                    }
                }
            do {
                let channel = try await bootstrap.bind(host: plan.host, port: plan.port).get()
                channels.withLock { $0.append(channel) }
                let tls = plan.implicitTLS ? " (TLS)" : " (STARTTLS)"
                log.info("master", "Listening for IMAP on \(plan.host):\(plan.port)\(tls)")
            } catch {
                throw ServerStartError("Cannot listen on \(plan.host):\(plan.port): \(error)")
            }
        }
    }

    private func initialize(channel: any Channel, plan: ListenerPlan) throws {
        let environment = state.withLock { $0 }
        let context = ConnectionContext(
            remoteIP: channel.remoteAddress?.ipAddress ?? "unknown",
            localIP: channel.localAddress?.ipAddress ?? "unknown",
            sessionID: SessionID.make(),
            // Implicit TLS: nothing is read or answered before the handshake, so the greeting may say so.
            isTLS: plan.implicitTLS,
            startTLSAvailable: !plan.implicitTLS && environment.tlsContext != nil)
        let sync = channel.pipeline.syncOperations
        if plan.implicitTLS, let tlsContext = environment.tlsContext {
            try sync.addHandler(NIOSSLServerHandler(context: tlsContext))
        }
        try sync.addHandler(IMAPConnectionHandler(environment: environment, context: context))
    }

    /// SIGHUP: new certificates and settings for new connections; live connections keep theirs.
    public func reload(config: LoadedConfig) throws {
        let settings = config.settings.forProtocol("imap")
        let newPlan = try Self.plan(settings: settings, log: log)
        if newPlan != listeners {
            log.warning("master", "listener changes take effect only after a restart")
        }
        let previous = state.withLock { $0.unauthenticatedSlots }
        let environment = try Self.makeEnvironment(
            settings: settings, log: log, pool: pool, mailPool: mailPool, registry: registry,
            previousLimiter: previous, keeper: keeper)
        state.withLock { $0 = environment }
        log.info("master", "Configuration and certificates reloaded")
    }

    /// Stop accepting, say BYE to every session, wait for them to go (up to `grace`), then stop the loops.
    public func shutdown(grace: Duration = .seconds(5)) async {
        let listening = channels.withLock { channels in
            defer { channels.removeAll() }
            return channels
        }
        for channel in listening { try? await channel.close() }
        registry.shutdownAll()
        let deadline = ContinuousClock.now + grace
        while registry.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        await pool.shutdown()
        try? await mailPool.shutdownGracefully()
        try? await group.shutdownGracefully()
    }

    public var liveConnections: Int { registry.count }
}

enum SessionID {
    /// Dovecot's session IDs are 12 base64 characters of randomness; ours look the same in logs.
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<9).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return SASLBase64.encode(bytes)
    }
}
