public import AerieConfig
public import AerieCore
import CAerieSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension LoginProcess {
    /// How often a per-uid mail process looks at its session count (idle exit, retiring).
    static let keyProcessCheck: Int32 = 250

    /// A per-uid mail process's hand-off loop (issue 11, `aerie mail-service --run-as`): resumes each session the
    /// master passes, answers its `who`/`kick` (`ProcessAdmin`), and ends the process
    /// - when it has had no session for `idleKill` (0: never), with `MailProcessKey.idleExitStatus`, which the master
    ///   does not count as a crash (the next login of the key starts a new process);
    /// - once retired (`MailProcessKey.retireMessage`, the master's reload) and its last session has ended.
    /// Only with nothing queued on the socket: a hand-off the master passes just before the exit is passed on by the
    /// master to a new process (`MailRouter`).
    /// `logFile`: takes the log file the master reopened (`MailProcessKey.logFileMessage`).
    public static func serveKeyHandoffs(
        fd: Int32, server: AerieServer, log: any LogSink, idleKill: Duration,
        logFile: @escaping @Sendable (Int32) -> Void
    ) {
        let executor = AdminExecutor(registry: server.registry, logins: server.loginSwitch)
        let receiver = Thread {
            var buffer = [UInt8](repeating: 0, count: LoginHandoff.maximumSize)
            var retiring = false
            var idleSince = ContinuousClock.now
            while true {
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&entry, 1, keyProcessCheck) > 0 {
                    guard let (bytes, connection) = DescriptorPassing.receive(fd, buffer: &buffer) else { break }
                    if connection >= 0 && bytes == MailProcessKey.logFileMessage {
                        logFile(connection)
                    } else if connection >= 0 {
                        server.resume(handoffBytes: bytes, fd: connection)
                    } else if bytes == MailProcessKey.retireMessage {
                        retiring = true
                        log.info(
                            "master",
                            "mail service (pid \(getpid())): reload: retiring, \(server.liveConnections) session(s) "
                                + "left; new logins go to a new process")
                    } else if let answer = ProcessAdmin.answer(bytes, executor: executor) {
                        _ = DescriptorPassing.send(fd, answer, fd: -1)
                    }
                    continue
                }
                let now = ContinuousClock.now
                if server.liveConnections + server.resumingConnections > 0 {
                    idleSince = now
                    continue
                }
                if retiring {
                    log.info("master", "mail service (pid \(getpid())): retired: its last session ended, exiting")
                    _exit(0)
                }
                if idleKill > .zero && now - idleSince >= idleKill {
                    log.info(
                        "master",
                        "mail service (pid \(getpid())): no session for idle_kill_interval "
                            + "(\(Supervisor.format(idleKill))): exiting")
                    _exit(MailProcessKey.idleExitStatus)
                }
            }
            log.error("master", "The hand-off socket closed: no more logins from the master")
        }
        receiver.name = "key-handoff"
        receiver.start()
    }
}

extension ChildLimits {
    /// How long a per-uid mail process may have no session: `service imap|pop3 { idle_kill_interval }` (the
    /// shorter), else `default_idle_kill_interval` (Dovecot's 1 min).
    public static func idleKillInterval(settings: AerieSettings) -> Duration {
        let set = ["imap", "pop3"].compactMap { settings.service(named: $0)?.idleKillInterval }
        return set.min() ?? settings.duration(forKey: "default_idle_kill_interval") ?? .seconds(60)
    }
}
