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
    /// The master's configuration (`ConfigSnapshotFile`), loaded instead of the file.
    @Option(name: .customLong("config-snapshot")) var snapshot: String?
    /// How many listening sockets the master passed, from `MailServiceFDs.firstListener` on.
    @Option var listeners: Int = 0
    /// The key worker's certificate and key paths, when the master runs one (its sockets are fds 3 and 4).
    @Option var keeperCert: String?
    @Option var keeperKey: String?
    /// `login_process = yes`: the login process's hand-off socket, after the listeners; the IMAP and POP3 TCP
    /// listeners are the login process's, not ours.
    @Flag var loginHandoff = false
    /// `login_process = yes`: where the login process's admin socketpair end is (`LoginAdmin`).
    @Option var loginAdminFD: Int32?
    /// `login_process = yes`: the master's admin relay (`MasterAdmin`): the incident switch and the other mail
    /// processes' sessions.
    @Option var masterAdminFD: Int32?
    /// `SERVICE=REASON`: the incident switch as the master holds it (repeated).
    @Option var loginDisabled: [String] = []
    /// As root: the master's LMTP delivery socket, for recipients of another uid/gid (`LMTPUIDDeliveryMaster`).
    @Option var lmtpDeliveryFD: Int32?
    /// `UID:GID`: a mail process of one key (issue 11, `MailRouter`): it serves only the hand-offs the master
    /// passes on `MailServiceFDs.firstListener`, as that uid/gid, with no listener, TLS key or admin socket.
    @Option var runAs: String?
    /// With `--run-as`: the directory it chroots to before dropping root.
    @Option var chroot: String?

    /// The key of a `--run-as` process.
    private var dedicated: (uid: UInt32, gid: UInt32)? {
        guard let parts = runAs?.split(separator: ":"), parts.count == 2, let uid = UInt32(parts[0]),
            let gid = UInt32(parts[1])
        else { return nil }
        return (uid, gid)
    }

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
        let loaded = try loadServiceConfig(config, snapshot: snapshot)
        let settings = loaded.settings
        let log = try openServiceLog(config, loaded: loaded)
        StorageLog.install(log)
        let server: AerieServer
        if runAs != nil {
            try await serveHandoffs(settings: settings, loaded: loaded, log: log, dropped: dropped)
            return
        }
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
            try server.disableLogins(arguments: loginDisabled)
            try await server.bindAdminSocket(
                baseDir: settings.baseDir, loginWorker: loginAdminFD.map { LoginWorkerAdmin(fd: $0) },
                master: masterAdminFD.map { LoginWorkerAdmin(fd: $0) })
            // Connections already wait in the listeners' backlog: not one is accepted before the drop.
            try dropPrivileges(settings: settings, log: log)
            try await server.adoptListeners(
                (0..<listeners).map { MailServiceFDs.firstListener + Int32($0) },
                except: loginHandoff ? LoginProcess.plans(server.listeners) : [])
            if let lmtpDeliveryFD { server.enableUIDDelivery(socket: lmtpDeliveryFD, settings: settings) }
            if loginHandoff {
                LoginProcess.receiveHandoffs(
                    fd: MailServiceFDs.firstListener + Int32(listeners), server: server, log: log,
                    logFile: { log.adopt(file: $0) })
            }
        } catch {
            throw startFailed(error, log: log)
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

    /// `--run-as`: the hand-offs of the users of one uid/gid (and chroot), as them.
    private func serveHandoffs(
        settings: AerieSettings, loaded: LoadedConfig, log: LogWriter, dropped: DispatchSemaphore
    ) async throws {
        let server: AerieServer
        do {
            guard let (uid, gid) = dedicated else { throw ServerStartError("--run-as wants UID:GID") }
            // The master checked the ranges; so does the process that becomes the user.
            guard uid != 0, gid != 0, uid >= settings.firstValidUID, gid >= settings.firstValidGID,
                settings.lastValidUID == 0 || uid <= settings.lastValidUID,
                settings.lastValidGID == 0 || gid <= settings.lastValidGID
            else {
                throw ServerStartError("uid \(uid) gid \(gid) is outside first_valid_uid…last_valid_gid")
            }
            let checked = try Preflight.check(config: loaded, log: DiscardingLogSink(), tls: false)
            server = try AerieServer(
                config: loaded, log: log, keeper: nil, checked: checked,
                authSocketPath: AuthProcess.socketPath(baseDir: settings.baseDir))
            if Privileges.isRoot {
                if let chroot, !chroot.isEmpty { try Privileges.chroot(to: chroot) }
                try Privileges.drop(to: ServiceAccount.lookup(user: "\(uid)", group: "\(gid)"))
            } else {
                try Privileges.forbidNewPrivileges()
            }
            LoginProcess.serveKeyHandoffs(
                fd: MailServiceFDs.firstListener, server: server, log: log,
                idleKill: ChildLimits.idleKillInterval(settings: settings), logFile: { log.adopt(file: $0) })
        } catch {
            throw startFailed(error, log: log)
        }
        dropped.signal()
        signal(SIGPIPE, SIG_IGN)
        log.info(
            "master",
            "mail service running (pid \(getpid()), uid \(getuid()), gid \(getgid())"
                + (chroot.map { ", chroot \($0)" } ?? "") + ")")
        // A process of one key keeps its configuration (it may not reach the file in its chroot, nor the key): the
        // master's reload retires it instead (`MailRouter.retireAll`).
        await MailSessionsService(
            server: server, config: config, log: log, keepsConfiguration: runAs != nil, chrooted: chroot != nil
        ).runUntilShutdown()
        log.info("master", "mail service stopped")
    }

    /// A start that failed (both paths): logged as fatal and on stderr; the master restarts the process.
    private func startFailed(_ error: any Error, log: LogWriter) -> ExitCode {
        log.log(.fatal, category: "master", "mail service: \(error)")
        printError("Fatal: \(error)")
        return ExitCode(1)
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
