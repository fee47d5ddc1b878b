import AerieConfig
import AerieCore
import AerieObservability
import AerieServer
import ArgumentParser
import Dispatch
import CAerieSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Aerie: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aerie",
        abstract: "A secure-by-default IMAP server that reads Dovecot's configuration.",
        subcommands: [
            Serve.self, Conf.self, Pw.self, Adm.self, TLSKeeperWorker.self, AuthSupervisorCommand.self,
            AuthServiceCommand.self, MailServiceCommand.self, LoginWorkerCommand.self,
            LMTPDeliverCommand.self,
        ]
    )
}

/// Where `-c` points when it is not given.
let systemConfigPath = "/etc/aerie/aerie.conf"

/// Runs async work while the calling (main) thread waits, alive.
///
/// `aerie serve` must not hand its main thread to the async runtime: that thread would exit, and a thread that
/// has exited is skipped by setuid(), so /proc and ps would still show the process as root after the drop.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            let value = try await body()
            result.withLock { $0 = .success(value) }
        } catch {
            result.withLock { $0 = .failure(error) }
        }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}

/// Internal: the process the master runs (and restarts) to hold the TLS key and sign. Not for people.
struct TLSKeeperWorker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tls-keeper-worker", shouldDisplay: false)

    @Argument var certificatePath: String
    @Argument var keyPath: String
    /// Whose handshakes it signs: the mail service's or the login process's (for `ps` and the tests).
    @Option var serves: String = "mail"

    func run() throws {
        KeyKeeperProcess.runWorker(certificatePath: certificatePath, keyPath: keyPath)
    }
}

/// Internal: started by the master with the auth socket on fd 3; restarts `auth-service`. Not for people.
struct AuthSupervisorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "auth-supervisor", shouldDisplay: false)

    @Option(name: .short) var config: String?
    /// The master's configuration (`ConfigSnapshotFile`), loaded instead of the file.
    @Option(name: .customLong("config-snapshot")) var snapshot: String?

    func run() throws {
        let log = try openServiceLog(config, loaded: loadServiceConfig(config, snapshot: snapshot))
        AuthSupervisor.run(
            configPath: config, snapshotPath: snapshot, log: log, reopenLog: { log.reopen() },
            loadPolicy: { (try? loadServiceConfig(config, snapshot: snapshot)).flatMap(AuthRehashWriter.policy) })
    }
}

/// Internal: the auth process (passdb/userdb lookups, password checks), run by `auth-supervisor`. Not for people.
struct AuthServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "auth-service", shouldDisplay: false)

    @Option(name: .short) var config: String?
    /// The master's configuration (`ConfigSnapshotFile`), loaded instead of the file.
    @Option(name: .customLong("config-snapshot")) var snapshot: String?

    func run() throws {
        // no_new_privs is per thread and inherited: set it before any thread exists.
        try Privileges.forbidNewPrivileges()
        let loaded = try loadServiceConfig(config, snapshot: snapshot)
        let log = try openServiceLog(config, loaded: loaded)
        do {
            let configuration = try AuthServiceProcess.prepare(config: loaded)
            try runBlocking { try await AuthServiceProcess.run(configuration, log: log) }
        } catch {
            log.log(.fatal, category: "auth", "auth process: \(error)")
            throw ExitCode(1)
        }
    }
}

/// A child's configuration: the master's snapshot when it passed one (the file may hold a reload it rejected),
/// else the file.
func loadServiceConfig(_ configPath: String?, snapshot: String?) throws -> LoadedConfig {
    guard let snapshot else { return try loadOrExit(configPath) }
    do { return try ConfigSnapshotFile.load(snapshot) } catch {
        printError("Fatal: \(error)")
        throw ExitCode(1)
    }
}

/// The log `serve` writes, opened again by a helper process (before any privilege drop).
func openServiceLog(_ configPath: String?, loaded: LoadedConfig? = nil) throws -> LogWriter {
    let settings = try (loaded ?? loadOrExit(configPath)).settings
    do {
        return try LogWriter(
            destination: .init(logPath: settings.logPath, syslogFacility: settings.syslogFacility),
            timestampFormat: settings.logTimestamp,
            minimumLevel: settings.authDebug || settings.mailDebug ? .debug : .info)
    } catch {
        printError("Fatal: \(error)")
        throw ExitCode(1)
    }
}

/// Internal: TLS and pre-login IMAP/POP3 as default_login_user in a chroot (issue 11). Not for people.
struct LoginWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "login-worker", shouldDisplay: false)

    @Option(name: .short) var config: String?
    /// The master's configuration (`ConfigSnapshotFile`), loaded instead of the file.
    @Option(name: .customLong("config-snapshot")) var snapshot: String?
    /// A pipe the master reads (a reload's new generation): one byte once the worker serves, confined.
    @Option(name: .customLong("ready-fd")) var readyFD: Int32?
    /// `SERVICE=REASON`: the incident switch as the master holds it (repeated): refused before any password.
    @Option var loginDisabled: [String] = []

    func run() throws {
        // no_new_privs and the signal mask are per thread and inherited: set them before any thread exists. SIGHUP
        // the retire signal (SIGQUIT) and SIGTERM (from the master) are taken by the main thread below.
        try Privileges.forbidNewPrivileges()
        var hangup = sigset_t()
        sigemptyset(&hangup)
        sigaddset(&hangup, SIGHUP)
        sigaddset(&hangup, LoginProcess.retireSignal)
        sigaddset(&hangup, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &hangup, nil)
        LoginProcess.watchServe()
        let loaded = try loadServiceConfig(config, snapshot: snapshot)
        let log = try openServiceLog(config, loaded: loaded)
        let settings = loaded.settings
        let server: AerieServer
        do {
            let keeper = LoginProcess.keeper(settings)
            let checked = try Preflight.check(config: loaded, log: log, keeper: keeper, reload: true)
            server = try AerieServer(
                config: loaded, log: log, keeper: keeper, checked: checked, handoff: LoginProcess.handoffSender,
                authConnector: LoginProcess.authConnector())
            try server.disableLogins(arguments: loginDisabled)
            let listeners = LoginProcess.inheritedListeners(checked.listeners)
            try runBlocking { try await server.adopt(listeners: listeners) }
            let master = getppid()
            // The admin thread starts with the others, before the confinement.
            LoginProcess.serveAdmin(server)
            try LoginProcess.confine(settings: settings)
            // Set by the main thread after the drop (a credential change clears it): never outlive the master.
            _ = aerie_set_parent_death_signal(SIGKILL)
            if getppid() != master { Glibc.exit(0) }
            log.info("imap-login", "Login process started (pid \(getpid()), uid \(getuid()))")
        } catch {
            log.log(.fatal, category: "imap-login", "login process: \(error)")
            printError("Fatal: login process: \(error)")
            throw ExitCode(78)
        }
        if let readyFD {
            var byte: UInt8 = 1
            _ = write(readyFD, &byte, 1)
            close(readyFD)
        }
        // SIGHUP: new certificates (the key worker reads them) for new connections, live ones keep theirs (the
        // master sends none since a reload starts a new worker). The retire signal (issue 11, reload: a new
        // worker with the new configuration serves the listeners now): stop accepting, serve the connections left
        // — pre-login ones until they log in or time out, relayed sessions until they end — and exit when none is
        // left (the master kills a worker still serving after `Supervisor.retireLimit`).
        var retiring = false
        while true {
            var received: Int32 = 0
            if retiring {
                var interval = timespec(tv_sec: 0, tv_nsec: 200_000_000)
                received = sigtimedwait(&hangup, nil, &interval)
            } else if sigwait(&hangup, &received) != 0 {
                continue
            }
            if received == SIGTERM {
                // BYE to every connection still before login (relayed sessions get theirs from the mail service,
                // which the master stops first), then exit.
                server.sayGoodbyeToEveryone(grace: .seconds(5))
                Glibc.exit(0)
            }
            if received == SIGHUP && !retiring {
                do { try server.reloadCertificates(config: loaded) } catch {
                    log.error("imap-login", "Reload failed, keeping the running certificates: \(error)")
                }
            } else if received == LoginProcess.retireSignal && !retiring {
                retiring = true
                server.stopAccepting()
                log.info(
                    "imap-login",
                    "Login process retiring (pid \(getpid())): no new connections, \(server.acceptedConnections) left")
            }
            if retiring && server.acceptedConnections == 0 {
                log.info("imap-login", "Retired login process exits (pid \(getpid())): no connections left")
                Glibc.exit(0)
            }
        }
    }
}
