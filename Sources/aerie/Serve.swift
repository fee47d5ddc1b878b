import AerieConfig
import AerieCore
import AerieObservability
import AerieServer
import AerieStorage
import ArgumentParser
import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The running server's auth process, for SIGHUP.
private let authProcess = Mutex<AuthProcess?>(nil)

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server in the foreground. SIGTERM stops it gracefully; SIGHUP reloads config and certificates."
    )

    @Option(name: .short, help: "Configuration file (default \(systemConfigPath), else the embedded default).")
    var config: String?

    @Option(name: .long, help: "Data folder for the embedded default.")
    var data: String = "./aerie-data"

    func run() throws {
        // no_new_privs is per thread and inherited: set it before any thread exists so every thread has it.
        try Privileges.forbidNewPrivileges()
        let configPath = try resolveConfigPath()
        try runBlocking { [self] in try await self.serve(configPath: configPath) }
    }

    private func serve(configPath: String?) async throws {
        let loaded = try loadOrExit(configPath)
        let settings = loaded.settings
        let log: LogWriter
        do {
            log = try LogWriter(
                destination: .init(logPath: settings.logPath, syslogFacility: settings.syslogFacility),
                timestampFormat: settings.logTimestamp, minimumLevel: settings.authDebug || settings.mailDebug ? .debug : .info)
        } catch {
            printError("Fatal: \(error)")
            throw ExitCode(1)
        }
        StorageLog.install(log)
        for warning in loaded.warnings { log.warning("config", warning.description) }
        for warning in loaded.securityWarnings() { log.warning("config", "Insecure setting: \(warning)") }

        let server: AerieServer
        do {
            // As root, keep a tiny root helper that holds the TLS key, signs handshakes with it and re-reads it
            // for SIGHUP reloads: this process never reads the key, not even for the checks below.
            var keeper: KeyKeeper?
            if Privileges.isRoot && settings.ssl != .no && !settings.sslServerKeyFile.isEmpty {
                keeper = try KeyKeeper.spawn(
                    certificatePath: settings.sslServerCertFile, keyPath: settings.sslServerKeyFile)
            }
            // The checks `aerie conf check` runs, before anything is created or bound.
            let checked = try Preflight.check(config: loaded, log: log, keeper: keeper)
            try SecureFile.makeDirectory(settings.baseDir, mode: 0o755)
            // Passwords are verified in the auth process, as default_internal_user (issue 11).
            let auth = try AuthProcess.start(
                configPath: configPath, baseDir: settings.baseDir, owner: checked.dropAccount)
            authProcess.withLock { $0 = auth }
            server = try AerieServer(
                config: loaded, log: log, keeper: keeper, checked: checked, authSocketPath: auth.socketPath)
            // Issue 11: TLS and pre-login IMAP/POP3 in the login process, as default_login_user in a chroot.
            var loginPlans: [ListenerPlan] = []
            if settings.value(forKey: "login_process") == "yes" {
                loginPlans = LoginProcess.plans(checked.listeners)
                try LoginProcess.start(
                    configPath: configPath, settings: settings, listeners: checked.listeners, server: server,
                    authSocketPath: auth.socketPath, log: log)
            }
            // `aerie adm logins|kick|who`: owned by the starting account (root), as the drop comes after. Bound
            // first: clients are greeted as soon as the listeners are, and signals are handled only after both.
            try await server.bindAdminSocket(baseDir: settings.baseDir)
            try await server.bind(except: loginPlans)
            try dropPrivileges(settings: settings, log: log)
            writePIDFile(baseDir: settings.baseDir)
        } catch {
            log.log(.fatal, category: "master", "\(error)")
            printError("Fatal: \(error)")
            throw ExitCode(1)
        }
        log.info("master", "Aerie starting up (pid \(getpid()), uid \(getuid()))")
        await handleSignals(server: server, configPath: configPath, log: log)
        log.info("master", "Aerie shutting down")
        await server.shutdown()
        log.info("master", "Aerie stopped")
    }

    private func resolveConfigPath() throws -> String? {
        if let config { return config }
        if access(systemConfigPath, F_OK) == 0 { return systemConfigPath }
        do {
            let prepared = try EmbeddedDefault.prepare(dataDirectory: data)
            if let password = prepared.demoPassword {
                print(
                    """
                    Aerie embedded default created in \(data).
                      IMAP (STARTTLS): 127.0.0.1:\(EmbeddedDefault.imapPort)   IMAPS: 127.0.0.1:\(EmbeddedDefault.imapsPort)
                      user: demo   password: \(password)   (shown once; stored as ARGON2ID)
                      config: \(prepared.configPath)
                    """)
            } else {
                print("Using the embedded default in \(data) (config \(prepared.configPath)).")
            }
            fflush(nil)  // all streams: stdout is a C global Swift 6 will not touch
            return prepared.configPath
        } catch {
            printError("Fatal: \(error)")
            throw ExitCode(1)
        }
    }

    /// After binding: as root, become the mail user for good; never keep serving as root.
    private func dropPrivileges(settings: AerieSettings, log: LogWriter) throws {
        if Privileges.isRoot {
            let user = settings.mailUID.isEmpty ? settings.defaultInternalUser : settings.mailUID
            let account = try ServiceAccount.lookup(user: user, group: settings.mailGID)
            try? SecureFile.chown(settings.baseDir, uid: account.uid, gid: account.gid)
            try Privileges.drop(to: account)
            log.info("master", "Dropped privileges to \(account.name) (uid \(account.uid), gid \(account.gid))")
        } else {
            try Privileges.forbidNewPrivileges()
        }
    }

    private func writePIDFile(baseDir: String) {
        let path = baseDir + "/master.pid"
        unlink(path)
        try? SecureFile.createExclusive(path: path, contents: "\(getpid())\n", mode: 0o644)
    }

    /// Waits for SIGTERM/SIGINT; SIGHUP reloads in between.
    private func handleSignals(server: AerieServer, configPath: String?, log: LogWriter) async {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { continuation.yield(signalNumber) }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        for await signalNumber in stream {
            if signalNumber != SIGHUP { break }
            log.reopen()
            guard let configPath else { continue }
            do {
                let reloaded = try ConfigLoader.load(path: configPath)
                try server.reload(config: reloaded)
                authProcess.withLock { $0?.restartWorker() }
            } catch let error as ConfigError {
                for diagnostic in error.diagnostics { log.error("config", "Reload failed: \(diagnostic)") }
            } catch {
                log.error("master", "Reload failed, keeping the running configuration: \(error)")
            }
        }
    }
}
