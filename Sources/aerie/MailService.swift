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

/// Internal: the mail service the master (`aerie serve`) starts and restarts: the listeners' connections, as the mail
/// user. Not for people. Descriptors: `MailServiceFDs`.
struct MailServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mail-service", shouldDisplay: false)

    @Option(name: .short) var config: String?
    /// How many listening sockets the master passed, from `MailServiceFDs.firstListener` on.
    @Option var listeners: Int = 0
    /// The key worker's certificate and key paths, when the master runs one (its sockets are fds 3 and 4).
    @Option var keeperCert: String?
    @Option var keeperKey: String?
    /// `login_process = yes`: the login process's hand-off socket, after the listeners; the IMAP and POP3 TCP
    /// listeners are the login process's, not ours.
    @Flag var loginHandoff = false

    func run() throws {
        // no_new_privs is per thread and inherited: set it before any thread exists so every thread has it.
        try Privileges.forbidNewPrivileges()
        let master = getppid()
        let dropped = DispatchSemaphore(value: 0)
        let result = Mutex<(any Error)?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await serve(dropped: dropped) } catch { result.withLock { $0 = error } }
            dropped.signal()
            done.signal()
        }
        // The parent-death signal counts only when set by the main thread, and a credential change clears it:
        // set it here, after the drop. The mail service never outlives the master.
        dropped.wait()
        _ = aerie_set_parent_death_signal(SIGKILL)
        if getppid() != master { Glibc.exit(0) }
        done.wait()
        if let error = result.withLock({ $0 }) { throw error }
    }

    private func serve(dropped: DispatchSemaphore) async throws {
        let loaded = try loadOrExit(config)
        let settings = loaded.settings
        let log = try openServiceLog(config, loaded: loaded)
        StorageLog.install(log)
        let server: AerieServer
        do {
            let keeper = keeperCert.flatMap { cert in
                keeperKey.map {
                    KeyKeeper.adopt(
                        fileSocket: MailServiceFDs.keeperFiles, signingSocket: MailServiceFDs.keeperSigning,
                        certificatePath: cert, keyPath: $0)
                }
            }
            // The master ran the same checks and logged their warnings.
            let checked = try Preflight.check(config: loaded, log: DiscardingLogSink(), keeper: keeper)
            server = try AerieServer(
                config: loaded, log: log, keeper: keeper, checked: checked,
                authSocketPath: AuthProcess.socketPath(baseDir: settings.baseDir))
            // `aerie adm logins|kick|who`: owned by the starting account (root), as the drop comes after.
            try await server.bindAdminSocket(baseDir: settings.baseDir)
            // Connections already wait in the listeners' backlog: not one is accepted before the drop.
            try dropPrivileges(settings: settings, log: log)
            try await server.adoptListeners(
                (0..<listeners).map { MailServiceFDs.firstListener + Int32($0) },
                except: loginHandoff ? LoginProcess.plans(server.listeners) : [])
            if loginHandoff {
                LoginProcess.receiveHandoffs(
                    fd: MailServiceFDs.firstListener + Int32(listeners), server: server, log: log)
            }
        } catch {
            log.log(.fatal, category: "master", "mail service: \(error)")
            printError("Fatal: \(error)")
            throw ExitCode(1)
        }
        dropped.signal()
        // The master reads this only at its first start: after a restart nobody does, and EPIPE is fine.
        signal(SIGPIPE, SIG_IGN)
        var ready: UInt8 = 0x52
        _ = write(MailServiceFDs.ready, &ready, 1)
        close(MailServiceFDs.ready)
        log.info("master", "mail service running (pid \(getpid()), uid \(getuid()))")
        await MailSessionsService(server: server, config: config, log: log).runUntilShutdown()
        log.info("master", "mail service stopped")
    }

    /// After adopting the listeners: as root, become the mail user for good; never keep serving as root.
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
}
