import AerieConfig
import AerieCore
import AerieObservability
import AerieServer
import AerieStorage
import ArgumentParser
import CAerieSystem
import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server in the foreground. SIGTERM stops it gracefully; SIGHUP reloads config and certificates."
    )

    @Option(name: .short, help: "Configuration file (default \(systemConfigPath), else the embedded default).")
    var config: String?

    @Option(name: .long, help: "Data folder for the embedded default.")
    var data: String = "./aerie-data"

    func run() throws {
        // The master takes its signals with sigtimedwait: blocked before any thread exists, so every thread has them
        // blocked. no_new_privs is per thread and inherited: likewise.
        Supervisor.blockSignals()
        // A child gone while the master writes to it (a reload to a dead auth supervisor) must not end the master.
        signal(SIGPIPE, SIG_IGN)
        try Privileges.forbidNewPrivileges()
        let configPath = try resolveConfigPath()
        try master(configPath: configPath)
    }

    /// `aerie serve` is the master (issue 11), as Dovecot's: it reads the configuration, binds every listener and
    /// starts the children — the TLS key worker (root), the auth process (default_internal_user, through
    /// `auth-supervisor`) and the mail service (the mail user) — and starts again any that dies. It holds no key,
    /// no password database and no mailbox.
    private func master(configPath: String?) throws {
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
        for warning in loaded.warnings { log.warning("config", warning.description) }
        for warning in loaded.securityWarnings() { log.warning("config", "Insecure setting: \(warning)") }

        let supervisor = Supervisor(services: [], log: log)
        let auth: AuthProcess
        var snapshotPath: String?
        var loginSide: LoginProcess.MasterSide?
        var switchSide: MasterAdmin?
        var routerSide: MailRouter?
        var uidDeliverySide: LMTPUIDDeliveryMaster?
        do {
            let limits = try ChildLimits.resolveAll(settings: settings)
            // As root the TLS key stays in a root worker that signs handshakes for the mail service; the master
            // reads only the certificate, through the worker, for the checks below.
            let keeperSockets =
                Privileges.isRoot && settings.ssl != .no && !settings.sslServerKeyFile.isEmpty
                ? try KeeperSockets(certificatePath: settings.sslServerCertFile, keyPath: settings.sslServerKeyFile)
                : nil
            if let sockets = keeperSockets {
                supervisor.add(ChildService(kind: .keeper, limits: limits[.keeper]!) { try sockets.spawnWorker() })
                try supervisor.start(.keeper)
            }
            let keeper = keeperSockets.map {
                KeyKeeper.adopt(
                    fileSocket: $0.service.files, signingSocket: -1, certificatePath: $0.certificatePath,
                    keyPath: $0.keyPath)
            }
            // The checks `aerie conf check` runs, before anything is created or bound.
            let checked = try Preflight.check(config: loaded, log: log, keeper: keeper)
            try SecureFile.makeDirectory(settings.baseDir, mode: 0o755)
            let mailAccount = try? ServiceAccount.lookup(
                user: settings.mailUID.isEmpty ? settings.defaultInternalUser : settings.mailUID,
                group: settings.mailGID)
            // Passwords are verified in the auth process, as default_internal_user.
            // The configuration the master runs, for its children to load: a reload it rejects changes nothing.
            if let snapshot = loaded.snapshot {
                let path = ConfigSnapshotFile.path(baseDir: settings.baseDir)
                try ConfigSnapshotFile.write(snapshot, to: path)
                snapshotPath = path
                ConfigSnapshotFile.startPassing(path)
            }
            auth = try AuthProcess.bindSocket(
                configPath: configPath, snapshotPath: snapshotPath, baseDir: settings.baseDir,
                owner: checked.dropAccount)
            supervisor.add(ChildService(kind: .auth, limits: limits[.auth]!) { try auth.spawnSupervisor() })
            try supervisor.start(.auth)
            var listeners = try ListenerSockets.bind(checked.listeners, socketOwner: mailAccount)
            // Issue 11: TLS and pre-login IMAP/POP3 in the login process, as default_login_user in a chroot; it
            // hands each authenticated connection to the mail service.
            var login: LoginProcess.MasterSide?
            // With the login process: the incident switch and the admin relay to every mail process.
            var masterAdmin: MasterAdmin?
            if settings.loginProcess {
                let loginPlans = LoginProcess.plans(checked.listeners)
                let loginKeeper =
                    settings.ssl != .no && !settings.sslServerKeyFile.isEmpty
                    ? try KeeperSockets(
                        certificatePath: settings.sslServerCertFile, keyPath: settings.sslServerKeyFile, serves: "login")
                    : nil
                let loginListeners = zip(checked.listeners, listeners).filter { loginPlans.contains($0.0) }.map(\.1)
                listeners = zip(checked.listeners, listeners).filter { !loginPlans.contains($0.0) }.map(\.1)
                let side = try LoginProcess.MasterSide(
                    configPath: configPath, settings: settings, listeners: loginListeners, keeper: loginKeeper,
                    authSocketPath: auth.socketPath)
                login = side
                if loginKeeper != nil {
                    // The current generation's key worker: a reload starts a new one (`MasterSide.reload`).
                    supervisor.add(
                        ChildService(kind: .loginKeeper, limits: limits[.loginKeeper]!) { try side.spawnKeeper() })
                    try supervisor.start(.loginKeeper)
                }
                let admin = try MasterAdmin(log: log)
                masterAdmin = admin
                supervisor.add(
                    ChildService(kind: .login, limits: limits[.login]!) {
                        try side.spawn(extraArguments: admin.switchArguments())
                    })
            }
            // Issue 11, lmtp: recipients of another uid/gid are written by `lmtp-deliver` workers the master starts.
            let uidDelivery =
                Privileges.isRoot
                ? try LMTPUIDDeliveryMaster(
                    configPath: configPath, settings: settings, authSocketPath: auth.socketPath, log: log)
                : nil
            uidDelivery?.start()
            uidDeliverySide = uidDelivery
            let uidDeliveryFD = MailServiceFDs.firstListener + Int32(listeners.count) + (login == nil ? 0 : 1)
            let loginAdminFD = uidDeliveryFD + 1
            let masterAdminFD = loginAdminFD + 1
            var ready: [Int32] = [-1, -1]
            guard pipe(&ready) == 0 else { throw ServerStartError("pipe: \(String(cString: strerror(errno)))") }
            ready.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
            let arguments =
                ["aerie", "mail-service"] + ConfigSnapshotFile.childArguments(configPath)
                + ["--listeners", "\(listeners.count)"]
                + (keeperSockets.map { ["--keeper-cert", $0.certificatePath, "--keeper-key", $0.keyPath] } ?? [])
                + (login == nil ? [] : ["--login-handoff"])
                + (uidDelivery == nil ? [] : ["--lmtp-delivery-fd", "\(uidDeliveryFD)"])
                + (login == nil ? [] : ["--login-admin-fd", "\(loginAdminFD)"])
                + (masterAdmin == nil ? [] : ["--master-admin-fd", "\(masterAdminFD)"])
            let adminMailEnd = login?.adminMailEnd
            let switchHolder = masterAdmin
            let mailListeners = listeners
            // The login process's hand-offs go through the master's router (`MailRouter`), which verifies who
            // logged in and picks the mail process of the user's uid/gid/chroot; the mail child gets its own socket.
            var pair: [Int32] = [-1, -1]
            if login != nil {
                let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                guard socketpair(AF_UNIX, kind, 0, &pair) == 0 else {
                    throw ServerStartError(
                        "socketpair for the mail service failed: \(String(cString: strerror(errno)))")
                }
            }
            let (routerMainEnd, handoffMailEnd) = (pair[0], pair[1] >= 0 ? pair[1] : nil)
            let readyEnd = ready[1]
            supervisor.add(
                ChildService(kind: .mail, limits: limits[.mail]!) {
                    var passing: [Int32: Int32] = [readyEnd: MailServiceFDs.ready]
                    if let keeperSockets {
                        keeperSockets.discardStaleReplies()
                        passing[keeperSockets.service.files] = MailServiceFDs.keeperFiles
                        passing[keeperSockets.service.signing] = MailServiceFDs.keeperSigning
                    }
                    for (index, fd) in mailListeners.enumerated() {
                        passing[fd] = MailServiceFDs.firstListener + Int32(index)
                    }
                    if let handoffMailEnd { passing[handoffMailEnd] = MailServiceFDs.firstListener + Int32(mailListeners.count) }
                    if let uidDelivery { passing[uidDelivery.mailEnd] = uidDeliveryFD }
                    if let adminMailEnd { passing[adminMailEnd] = loginAdminFD }
                    if let switchHolder { passing[switchHolder.mailEnd] = masterAdminFD }
                    return try spawnSelf(arguments + (switchHolder?.switchArguments() ?? []), passing: passing)
                })
            try supervisor.start(.mail)
            guard supervisor.awaitReady(.mail, readyFD: ready[0]) else {
                throw ServerStartError("the mail service did not start (see its error above)")
            }
            close(ready[0])
            if let login {
                let router = MailRouter(
                    loginEnd: login.handoffMailEnd, mainEnd: routerMainEnd, authSocketPath: auth.socketPath,
                    policy: MailRoutePolicy(settings: settings, mainAccount: checked.dropAccount),
                    supervisor: supervisor, limits: limits[.mail]!, configPath: configPath, log: log,
                    admin: masterAdmin)
                router.start()
                routerSide = router
                masterAdmin?.start(router: router)
                try supervisor.start(.login)
            }
            loginSide = login
            switchSide = masterAdmin
            writePIDFile(baseDir: settings.baseDir)
        } catch {
            log.log(.fatal, category: "master", "\(error)")
            printError("Fatal: \(error)")
            supervisor.stopAll()
            throw ExitCode(1)
        }
        log.info("master", "Aerie starting up (pid \(getpid()), uid \(getuid()))")
        let login = loginSide
        let masterAdmin = switchSide
        let router = routerSide
        let uidDelivery = uidDeliverySide
        let runningSnapshot = snapshotPath
        supervisor.run {
            log.reopen()
            // The per-uid processes, retiring ones too, cannot open the log file themselves: they get the master's.
            if let router, let logFile = log.duplicateFile() {
                router.passLogFile(logFile)
                close(logFile)
            }
            guard let configPath else { return }
            let reloaded: LoadedConfig
            do {
                reloaded = try ConfigLoader.load(path: configPath)
                let limits = try ChildLimits.resolveAll(settings: reloaded.settings)
                if let runningSnapshot, let snapshot = reloaded.snapshot {
                    try ConfigSnapshotFile.write(snapshot, to: runningSnapshot)
                }
                supervisor.update(limits: limits)
                // Per hand-off and per LMTP recipient: the ranges and mail_chroot of the new configuration.
                router?.update(
                    policy: MailRoutePolicy(settings: reloaded.settings, mainAccount: nil), limits: limits[.mail]!)
                uidDelivery?.update(settings: reloaded.settings)
                if let warning = MasterReload.warning(
                    MasterReload.restartRequired(running: settings, new: reloaded.settings))
                {
                    log.warning("master", warning)
                }
            } catch let error as ConfigError {
                for diagnostic in error.diagnostics { log.error("config", "Reload failed: \(diagnostic)") }
                log.error(
                    "master",
                    "Reload failed, keeping the running configuration: processes (re)started until a reload succeeds "
                        + "run it too, not the file")
                return
            } catch {
                log.error("master", "Reload failed, keeping the running configuration: \(error)")
                return
            }
            auth.restartWorker()
            // The per-uid mail processes may not reach the file (chroot, permissions): they retire, and the next
            // login of their key starts one with the new configuration. Before the SIGHUP: it reaches only `mail`.
            router?.retireAll()
            supervisor.signal(.mail, SIGHUP)
            // Chrooted, the login worker cannot read the new configuration: a new one starts, the old one retires.
            login?.reload(
                settings: reloaded.settings, supervisor: supervisor, log: log,
                extraArguments: masterAdmin?.switchArguments() ?? [])
        }
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
                for note in prepared.notes { print("  note: \(note)") }
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

    private func writePIDFile(baseDir: String) {
        let path = baseDir + "/master.pid"
        unlink(path)
        try? SecureFile.createExclusive(path: path, contents: "\(getpid())\n", mode: 0o644)
    }
}
