public import AerieConfig
public import AerieCore
import CAerieSystem
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension LoginProcess {
    /// The signal that tells a login worker to retire, as Dovecot's master tells its old processes on reload.
    public static let retireSignal = SIGQUIT

    /// One generation of login workers (issue 11, reload): its own connection to the master for auth connections
    /// and its own key worker (`login-tls-keeper`), both made for it and started with its configuration.
    ///
    /// A key worker per generation, not one shared: the key worker reads the two paths it was started with (a
    /// reload may name other files), and its sockets carry requests and replies in order, so two workers reading
    /// replies from the same socket would take each other's. The same holds for the auth request socket and the
    /// admin socket (`LoginAdmin`): the master asks every live generation and merges their answers.
    public final class Generation: Sendable {
        let authLoginEnd: Int32
        /// The admin socket (`LoginAdmin`): the master's end, closed by its relay once the workers are gone, and
        /// the workers' end, which the master keeps until the generation retires (a crashed worker gets it again).
        let adminMasterEnd: Int32
        let adminWorkerEnd: Int32
        /// Counted from 1 in the master: names the generation in the admin relay's notes.
        let number: Int
        public let keeper: KeeperSockets?
        private let closed = Atomic<Bool>(false)

        init(keeper: KeeperSockets?, authSocketPath: String, number: Int) throws {
            let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            var auth: [Int32] = [-1, -1]
            var admin: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, kind, 0, &auth) == 0 else {
                throw ServerStartError("socketpair for the login process failed: \(systemError())")
            }
            guard socketpair(AF_UNIX, kind, 0, &admin) == 0 else {
                Glibc.close(auth[0])
                Glibc.close(auth[1])
                throw ServerStartError("socketpair for the login process failed: \(systemError())")
            }
            self.authLoginEnd = auth[1]
            self.adminMasterEnd = admin[0]
            self.adminWorkerEnd = admin[1]
            self.number = number
            self.keeper = keeper
            let authSocket = auth[0]
            // Ends when every copy of the worker's end is closed: the master's (`release`) and its workers'.
            let connector = Thread {
                var buffer = [UInt8](repeating: 0, count: 64)
                while DescriptorPassing.receive(authSocket, buffer: &buffer) != nil {
                    var fd = LoginProcess.connectUnix(authSocketPath)
                    // Marked before the login process gets it: its logins get tokens, and it cannot redeem any.
                    if fd >= 0, !LoginProcess.markLogin(fd) {
                        close(fd)
                        fd = -1
                    }
                    _ = DescriptorPassing.send(authSocket, [fd >= 0 ? 1 : 0], fd: fd)
                    if fd >= 0 { close(fd) }
                }
                close(authSocket)
            }
            connector.name = "login-auth"
            connector.start()
        }

        /// Retired: the master closes its copies of this generation's sockets, so its auth connector thread and
        /// its key worker end when its last worker does (they read the end of file), and the admin relay sees the
        /// admin socket hang up then.
        public func release() {
            guard !closed.exchange(true, ordering: .relaxed) else { return }
            Glibc.close(authLoginEnd)
            Glibc.close(adminWorkerEnd)
            if let keeper {
                for fd in [keeper.service.files, keeper.service.signing, keeper.worker.files, keeper.worker.signing] {
                    Glibc.close(fd)
                }
            }
        }
    }
}

extension LoginProcess.MasterSide {
    /// How long the master waits for a new generation's worker to serve before it gives up on the reload.
    static let readyLimit: Duration = .seconds(60)

    /// SIGHUP with a configuration that loads (issue 11, as Dovecot's reload): a new generation — its own key
    /// worker and auth socket, the same listening and hand-off sockets — starts with the new configuration (the
    /// chrooted worker cannot read it). Once its worker serves, it takes the supervisor's slots and the old worker
    /// retires: it accepts no more connections and exits when its last one ends (`Supervisor.replace`). If the new
    /// worker does not start, the running one goes on and the error is logged.
    /// `extraArguments`: the incident switch as the master holds it now (`MasterAdmin.switchArguments`).
    public func reload(
        settings: AerieSettings, supervisor: Supervisor, log: any LogSink, extraArguments: [String] = []
    ) {
        let old = current.withLock { $0 }
        let wantsKeeper = settings.ssl != .no && !settings.sslServerKeyFile.isEmpty
        guard wantsKeeper == (old.keeper != nil) else {
            log.error(
                "master",
                "Reload of the login process failed, keeping the running one: turning ssl on or off for it needs a "
                    + "restart of aerie serve")
            return
        }
        var keeperPID: Int32?
        var generation: LoginProcess.Generation?
        var ready: [Int32] = [-1, -1]
        do {
            let keeper =
                wantsKeeper
                ? try KeeperSockets(
                    certificatePath: settings.sslServerCertFile, keyPath: settings.sslServerKeyFile, serves: "login")
                : nil
            let next = try LoginProcess.Generation(
                keeper: keeper, authSocketPath: authSocketPath, number: old.number + 1)
            generation = next
            if let keeper { keeperPID = try keeper.spawnWorker() }
            guard pipe(&ready) == 0 else { throw ServerStartError("pipe: \(systemError())") }
            ready.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
            let pid = try spawn(next, readyFD: ready[1], extraArguments: extraArguments)
            Glibc.close(ready[1])
            ready[1] = -1
            defer { Glibc.close(ready[0]) }
            guard Self.awaitReady(pid: pid, readyFD: ready[0]) else {
                throw ServerStartError("the new login process did not start (see its error above)")
            }
            current.withLock { $0 = next }
            generations.withLock { $0.append(next) }
            if let keeperPID { supervisor.replace(.loginKeeper, pid: keeperPID, retireSignal: nil) }
            supervisor.replace(.login, pid: pid, retireSignal: LoginProcess.retireSignal)
            old.release()
            log.info("master", "service(login): started child \(pid) with the new configuration")
        } catch {
            if ready[1] >= 0 { Glibc.close(ready[1]) }
            if let keeperPID {
                kill(keeperPID, SIGKILL)
                var status: Int32 = 0
                waitpid(keeperPID, &status, 0)
            }
            if let generation {
                generation.release()
                Glibc.close(generation.adminMasterEnd)
            }
            log.error("master", "Reload of the login process failed, keeping the running one: \(error)")
        }
    }

    /// Waits for one byte on `readyFD`; false (the child reaped, or killed and reaped) if `pid` exits first or
    /// does not answer within `readyLimit`.
    static func awaitReady(pid: Int32, readyFD: Int32) -> Bool {
        let deadline = ContinuousClock.now + readyLimit
        while true {
            var poller = pollfd(fd: readyFD, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) > 0 {
                var byte: UInt8 = 0
                if read(readyFD, &byte, 1) == 1 { return true }
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return false }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                return false
            }
        }
    }
}
