public import AerieAuth
public import AerieConfig
public import AerieCore
import CAerieSystem
import Dispatch
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The auth process: the only process that reads passdbs/userdbs and verifies passwords (issue 11).
///
/// `aerie serve` binds a unix socket (`base_dir/aerie-auth`, 0600, owned by the account serve drops to) and spawns
/// `aerie auth-supervisor`, which keeps serve's privileges (root when started as root) and runs the worker,
/// `aerie auth-service`, with the listening socket as its fd 3. The worker drops to `default_internal_user`
/// (setgroups, setgid, setuid, no_new_privs) after opening its log, so `root:dovecot 0640` passwd-files work and the
/// mail user cannot read them. The supervisor restarts a dying worker with backoff; the listening socket outlives
/// it, so logins after a restart reach the new one. Started as a normal user, all of it runs as that user.
public final class AuthProcess: Sendable {
    public let socketPath: String
    private let configPath: String?
    /// The listening auth socket; it outlives every supervisor the master starts.
    private let listener: Int32
    /// The master's end of the running supervisor's control socketpair: "R" restarts the worker (a reload); EOF
    /// stops the supervisor.
    private let control = Mutex<Int32>(-1)

    /// The master's configuration (`ConfigSnapshotFile`): what the supervisor and its workers load, not the file.
    private let snapshotPath: String?

    private init(socketPath: String, configPath: String?, snapshotPath: String?, listener: Int32) {
        self.socketPath = socketPath
        self.configPath = configPath
        self.snapshotPath = snapshotPath
        self.listener = listener
    }

    public static func socketPath(baseDir: String) -> String { baseDir + "/aerie-auth" }

    /// Binds the socket. `owner`: who may connect (the account the mail service drops to).
    /// `snapshotPath`: the configuration the master runs (`ConfigSnapshotFile`), nil to read `configPath`.
    public static func bindSocket(
        configPath: String?, snapshotPath: String? = nil, baseDir: String, owner: ServiceAccount?
    ) throws -> AuthProcess {
        let path = socketPath(baseDir: baseDir)
        let listener = try bindUnixSocket(path: path, owner: owner)
        return AuthProcess(socketPath: path, configPath: configPath, snapshotPath: snapshotPath, listener: listener)
    }

    /// Spawns `aerie auth-supervisor` on the socket (the master restarts it if it dies).
    public func spawnSupervisor() throws -> Int32 {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw ServerStartError("socketpair for the auth process failed: \(systemError())")
        }
        defer { close(fds[1]) }
        do {
            let pid = try spawnSelf(
                ["aerie", "auth-supervisor"] + AuthSupervisor.configArguments(configPath, snapshotPath),
                passing: [listener: 3, fds[1]: 4])
            control.withLock { control in
                if control >= 0 { close(control) }
                control = fds[0]
            }
            return pid
        } catch {
            close(fds[0])
            throw ServerStartError("Cannot start the auth process: \(error)")
        }
    }

    /// SIGHUP, once the master loaded the new configuration and recorded its snapshot: the worker is replaced by
    /// one that loads it.
    public func restartWorker() {
        var request: UInt8 = 0x52  // "R"
        let fd = control.withLock { $0 }
        _ = write(fd, &request, 1)
    }

    static func bindUnixSocket(path: String, owner: ServiceAccount?) throws -> Int32 {
        unlink(path)
        // Created 0600 from the start: nobody else may ask the auth process anything.
        let oldMask = umask(0o177)
        let bound = Result { () throws(UnixSocket.Failure) in try UnixSocket.bind(path) }
        umask(oldMask)
        let fd: Int32
        switch bound {
        case .failure(.pathTooLong): throw ServerStartError("auth socket path \(path) is too long")
        case .failure(let failure):
            throw ServerStartError("Cannot listen on the auth socket \(path): \(failure.reason)")
        case .success(let socket): fd = socket
        }
        guard listen(fd, 128) == 0 else {
            let message = systemError()
            close(fd)
            throw ServerStartError("Cannot listen on the auth socket \(path): \(message)")
        }
        if let owner, Privileges.isRoot, chown(path, owner.uid, owner.gid) != 0 {
            let message = systemError()
            close(fd)
            throw ServerStartError("chown of the auth socket \(path): \(message)")
        }
        return fd
    }
}

/// `aerie auth-supervisor`: fd 3 is the listening auth socket, fd 4 the control socket from serve.
public enum AuthSupervisor {
    static let longestBackoff: Duration = .seconds(30)
    static let firstBackoff: Duration = .milliseconds(100)
    /// A worker that lived this long was healthy: the next restart is immediate again.
    static let healthyLifetime: Duration = .seconds(30)

    /// `reopenLog`: called on a reload, as serve reopens its own log then (log rotation).
    /// It leaves when serve's end of the control socket closes (serve exited or was killed). No parent-death
    /// signal: serve spawns it from a pool thread, and such a thread may end long before serve does.
    /// `loadPolicy`: which passwd-files the worker may have rewritten (rehash on login), read at start and on reloads.
    /// `snapshotPath`: the master's configuration snapshot, which the workers load instead of the file.
    public static func run(
        configPath: String?, snapshotPath: String? = nil, log: any LogSink, reopenLog: () -> Void = {},
        loadPolicy: () -> AuthRehashWriter.Policy? = { nil }
    ) -> Never {
        let control: Int32 = 4
        var backoff = firstBackoff
        var restartAt = ContinuousClock.now
        var worker: (pid: pid_t, started: ContinuousClock.Instant)?
        /// Workers told to leave (SIGTERM on a reload): they finish their requests while the new one starts.
        var retiring: [pid_t] = []
        var policy = loadPolicy()
        /// The running worker's rehash-write requests (its fd 5); -1 when none.
        var requests: Int32 = -1
        func closeRequests() {
            if requests >= 0 { close(requests) }
            requests = -1
        }
        while true {
            if worker == nil && ContinuousClock.now >= restartAt {
                closeRequests()
                var pair: [Int32] = [-1, -1]
                let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                if socketpair(AF_UNIX, kind, 0, &pair) != 0 {
                    log.error("master", "socketpair for rehash writes failed: \(systemError())")
                }
                do {
                    let passing: [Int32: Int32] = pair[1] >= 0 ? [3: 3, pair[1]: AuthRehashWriter.workerFD] : [3: 3]
                    let pid = try spawnSelf(
                        ["aerie", "auth-service"] + configArguments(configPath, snapshotPath), passing: passing)
                    worker = (pid, .now)
                    requests = pair[0]
                } catch {
                    if pair[0] >= 0 { close(pair[0]) }
                    log.error("master", "Cannot start the auth process: \(error)")
                    restartAt = .now + backoff
                    backoff = min(backoff * 2, longestBackoff)
                }
                if pair[1] >= 0 { close(pair[1]) }
            }
            var pollers = [
                pollfd(fd: control, events: Int16(POLLIN), revents: 0),
                pollfd(fd: requests, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&pollers, requests >= 0 ? 2 : 1, 100)
            if ready > 0, requests >= 0, pollers[1].revents != 0 {
                if !AuthRehashWriter.serve(requests, policy: policy, log: log) { closeRequests() }
            }
            if ready > 0, pollers[0].revents != 0 {
                var request: UInt8 = 0
                let got = read(control, &request, 1)
                if got == 0 || (got < 0 && errno != EINTR) {
                    // serve is gone: so is its auth process.
                    for pid in retiring + (worker.map { [$0.pid] } ?? []) { kill(pid, SIGKILL) }
                    exit(0)
                }
                if got == 1, request == 0x52, let running = worker {
                    reopenLog()
                    policy = loadPolicy()
                    closeRequests()
                    kill(running.pid, SIGTERM)
                    retiring.append(running.pid)
                    worker = nil
                    restartAt = .now
                    log.info("master", "auth process \(running.pid) is being replaced to reload the configuration")
                    continue
                }
            }
            retiring.removeAll { pid in
                var status: Int32 = 0
                return waitpid(pid, &status, WNOHANG) == pid
            }
            guard let running = worker else { continue }
            var status: Int32 = 0
            guard waitpid(running.pid, &status, WNOHANG) == running.pid else { continue }
            worker = nil
            let lived = ContinuousClock.now - running.started
            if lived >= healthyLifetime { backoff = firstBackoff }
            restartAt = .now + backoff
            log.error(
                "master",
                "auth process \(running.pid) \(describe(status)); restarting it in \(backoff.formatted) "
                    + "(logins meanwhile get a temporary failure)")
            backoff = min(backoff * 2, longestBackoff)
        }
    }

    /// `-c FILE` and, when the master keeps one, `--config-snapshot FILE` (which the child loads instead).
    static func configArguments(_ configPath: String?, _ snapshotPath: String?) -> [String] {
        (configPath.map { ["-c", $0] } ?? []) + (snapshotPath.map { ["--config-snapshot", $0] } ?? [])
    }

    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7F
        if signal == 0 { return "exited with status \((status >> 8) & 0xFF)" }
        return "was killed by signal \(signal)"
    }
}

extension Duration {
    fileprivate var formatted: String {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return milliseconds < 1000 ? "\(milliseconds) ms" : "\(milliseconds / 1000) s"
    }
}

/// `aerie auth-service`: the worker. fd 3 is the listening auth socket.
public enum AuthServiceProcess {
    /// Drops to `default_internal_user` when root (the log is already open), and dies with the supervisor.
    /// Call on the main thread before any other exists: the parent-death signal is an attribute of the calling
    /// thread, and only the main thread's counts for the process.
    public static func prepare(config: LoadedConfig) throws -> AuthServiceConfiguration {
        let settings = config.settings
        let authConfiguration = try AerieServer.authConfiguration(settings)
        let parent = getppid()
        if Privileges.isRoot {
            let account = try internalAccount(settings)
            try Privileges.drop(to: account)
        } else {
            try Privileges.forbidNewPrivileges()
        }
        // Set after the drop (a credential change clears it); a supervisor already gone means exit now.
        _ = aerie_set_parent_death_signal(SIGKILL)
        if getppid() != parent { exit(0) }
        return authConfiguration
    }

    /// After `prepare`: answers requests on fd 3 until killed or replaced.
    public static func run(_ authConfiguration: AuthServiceConfiguration, log: any LogSink) async throws -> Never {
        let paths =
            authConfiguration.passdbs.map { ("passdb \($0.name)", $0.path) }
            + authConfiguration.userdbs.map { ("userdb \($0.name)", $0.path) }
        for (what, path) in paths where !path.isEmpty && !path.contains("%") {
            do { try Preflight.checkReadable(path, what: what, by: nil) } catch { log.error("auth", "\(error)") }
        }
        let service = try AuthService(
            configuration: authConfiguration, log: log, pool: PasswordHashingPool(),
            registry: AerieServer.authDrivers, rehashDelegate: AuthRehashWriter.workerDelegate())
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let worker = AuthWorkerState()
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AuthWireServerHandler(service: service, log: log, worker: worker))
                }
            }
            .withBoundSocket(3).get()
        // SIGTERM (a reload): stop accepting, answer what was asked, tell the server to ask the new process from
        // now on, and leave once it has closed its connections (at most a minute later).
        signal(SIGTERM, SIG_IGN)
        let terms = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        terms.setEventHandler {
            channel.close(promise: nil)
            worker.drain()
            DispatchQueue.global().asyncAfter(deadline: .now() + 60) { exit(0) }
        }
        terms.resume()
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    /// `default_internal_user` and its primary group; it must exist and must not be root.
    public static func internalAccount(_ settings: AerieSettings) throws -> ServiceAccount {
        let name = settings.defaultInternalUser
        guard getpwnam(name) != nil || UInt32(name) != nil else {
            throw ServerStartError(
                "default_internal_user: system user \(name) does not exist: the auth process runs as it "
                    + "(create it, e.g. useradd --system --user-group \(name))")
        }
        let account = try ServiceAccount.lookup(user: name, group: "")
        guard account.uid != 0 else {
            throw ServerStartError("default_internal_user must not be root: the auth process runs as it")
        }
        return account
    }
}

/// Whether the worker is being replaced, and its server connections with the requests each has in flight.
final class AuthWorkerState: Sendable {
    private struct Live {
        var channel: any Channel
        var inFlight = 0
    }

    private let state = Mutex((draining: false, connections: [ObjectIdentifier: Live]()))
    /// Login tokens issued on login-process connections, redeemed by the master (issue 11).
    let tokens = Mutex(LoginTokens())

    var draining: Bool { state.withLock { $0.draining } }

    func opened(_ channel: any Channel) {
        state.withLock { $0.connections[ObjectIdentifier(channel)] = Live(channel: channel) }
    }

    func closed(_ channel: any Channel) {
        let done = state.withLock { state in
            state.connections[ObjectIdentifier(channel)] = nil
            return state.draining && state.connections.isEmpty
        }
        if done { exit(0) }
    }

    /// A request on `channel` is being answered.
    func begin(_ channel: any Channel) {
        state.withLock { $0.connections[ObjectIdentifier(channel)]?.inFlight += 1 }
    }

    /// Its answer is written: while draining, a connection with nothing left in flight is closed, so its client
    /// connects to the new process.
    func end(_ channel: any Channel) {
        let idle = state.withLock { state -> Bool in
            guard var live = state.connections[ObjectIdentifier(channel)] else { return false }
            live.inFlight -= 1
            state.connections[ObjectIdentifier(channel)] = live
            return state.draining && live.inFlight <= 0
        }
        if idle { channel.close(promise: nil) }
    }

    /// Replaced: connections with nothing in flight close now (a client that sends nothing — the mail service
    /// between deliveries, the master between logins — would otherwise keep this process alive), the others after
    /// their last answer; the process exits when none is left.
    func drain() {
        let (idle, done) = state.withLock { state in
            state.draining = true
            return (state.connections.values.filter { $0.inFlight == 0 }.map(\.channel), state.connections.isEmpty)
        }
        if done { exit(0) }
        for channel in idle { channel.close(promise: nil) }
    }
}

/// The worker's side of one connection: requests in, replies out, each request answered on its own task.
final class AuthWireServerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let service: AuthService
    private let log: any LogSink
    private let worker: AuthWorkerState
    private let frames = Mutex(AuthWire.FrameBuffer())
    /// The master marked this connection as the login process's (`markLogin`): logins get tokens, no redeeming.
    private let isLogin = Mutex(false)

    init(service: AuthService, log: any LogSink, worker: AuthWorkerState) {
        self.service = service
        self.log = log
        self.worker = worker
    }

    /// A successful login on a login-process connection carries a one-time token for the master (issue 11).
    private func withToken(_ result: AuthResult, login: Bool) -> AuthResult {
        guard login, case .success(var user) = result else { return result }
        let token = worker.tokens.withLock { $0.issue(for: user, now: .now) }
        user.extraFields[LoginTokens.field] = token
        return .success(user)
    }

    private func redeem(_ token: String, login: Bool) -> AuthResult {
        guard !login else {
            log.error("auth", "the login process tried to redeem a login token: refused")
            return .failure(.denied)
        }
        guard let user = worker.tokens.withLock({ $0.redeem(token, now: .now) }) else {
            log.error("auth", "unknown, expired or reused login token: hand-off refused")
            return .failure(.unknownUser)
        }
        return .success(user)
    }

    func channelActive(context: ChannelHandlerContext) {
        worker.opened(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        worker.closed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        var requests: [AuthWire.Request] = []
        do {
            try frames.withLock { frames throws(AuthWireError) in
                frames.append(buffer.readableBytesView)
                while let payload = try frames.next() { requests.append(try AuthWire.decodeRequest(payload)) }
            }
        } catch {
            log.error("auth", "auth client sent a malformed request (\(error)): closing its connection")
            context.close(promise: nil)
            return
        }
        let channel = context.channel
        if worker.draining {
            // Only this process knows the tokens it issued: the master still redeems them here.
            for request in requests {
                if case .redeem = request { continue }
                guard let reply = try? AuthWire.encode(AuthWire.Reply.retry(id: request.id)) else { continue }
                context.writeAndFlush(NIOAny(ByteBuffer(bytes: reply)), promise: nil)
            }
            requests = requests.filter { if case .redeem = $0 { true } else { false } }
        }
        for request in requests {
            if case .markLogin = request {
                isLogin.withLock { $0 = true }
                continue
            }
            let login = isLogin.withLock { $0 }
            // The login process only logs users in: no admin commands, no userdb lookups without a password.
            if login, case .admin = request {
                log.error("auth", "the login process sent an admin request: closing its connection")
                context.close(promise: nil)
                return
            }
            if login, case .lookup = request {
                log.error("auth", "the login process sent a userdb lookup: closing its connection")
                context.close(promise: nil)
                return
            }
            worker.begin(channel)
            if case .admin(let id, let arguments) = request {
                Task { [service, worker] in
                    // A user listing streams: each part is written (and flushed to the socket) before the next.
                    let part: @Sendable (String) async -> Bool = { text in
                        guard let frame = try? AuthWire.encodeAdminPart(id: id, text: text) else { return false }
                        do { try await channel.writeAndFlush(ByteBuffer(bytes: frame)).get() } catch { return false }
                        return true
                    }
                    let (ok, text) = await service.administer(arguments, part: part)
                    guard let reply = try? AuthWire.encodeAdminReply(id: id, ok: ok, text: text) else {
                        return worker.end(channel)
                    }
                    channel.writeAndFlush(ByteBuffer(bytes: reply)).whenComplete { _ in worker.end(channel) }
                }
                continue
            }
            if case .redeem(let id, let token) = request {
                // A table lookup: answered on the event loop, without a task hop per login.
                let reply = (try? AuthWire.encode(AuthWire.Reply(id: id, result: redeem(token, login: login))))
                    ?? (try? AuthWire.encode(AuthWire.Reply(id: id, result: .failure(.temporaryFailure))))
                guard let reply else {
                    worker.end(channel)
                    continue
                }
                context.writeAndFlush(NIOAny(ByteBuffer(bytes: reply))).whenComplete { [worker] _ in
                    worker.end(channel)
                }
                continue
            }
            Task { [service, worker, self] in
                let result: AuthResult
                switch request {
                case .authenticate(_, let auth): result = withToken(await service.authenticate(auth), login: login)
                case .lookup(_, let user): result = await service.lookup(user)
                case .saslStep(let id, let step):
                    var answer = await service.saslStep(step)
                    if case .finished(let outcome, let final) = answer {
                        answer = .finished(withToken(outcome, login: login), serverFinal: final)
                    }
                    let unavailable = SASLStepReply.finished(.failure(.temporaryFailure), serverFinal: nil)
                    let reply = (try? AuthWire.encodeSASLReply(id: id, answer))
                        ?? (try? AuthWire.encodeSASLReply(id: id, unavailable))
                    guard let reply else { return worker.end(channel) }
                    channel.writeAndFlush(ByteBuffer(bytes: reply)).whenComplete { _ in worker.end(channel) }
                    return
                case .admin, .markLogin, .redeem: return worker.end(channel)
                }
                let reply = (try? AuthWire.encode(AuthWire.Reply(id: request.id, result: result)))
                    ?? (try? AuthWire.encode(AuthWire.Reply(id: request.id, result: .failure(.temporaryFailure))))
                guard let reply else { return worker.end(channel) }
                channel.writeAndFlush(ByteBuffer(bytes: reply)).whenComplete { _ in worker.end(channel) }
            }
        }
    }
}

/// The server's side: an `Authenticator` whose calls are requests to the auth process. Many requests share one
/// connection; a reply finds its caller by request id. When the connection drops, the requests on it get a
/// temporary failure (NO [UNAVAILABLE]) and the next request connects again.
public final class AuthProcessClient: SASLStepAuthenticator {
    enum Outcome: Sendable {
        case done(AuthResult)
        /// The answer to a SASL step.
        case sasl(SASLStepReply)
        /// The auth process is being replaced: ask again on a new connection.
        case retry
    }

    private struct Pending {
        var channel: ObjectIdentifier
        var continuation: CheckedContinuation<Outcome, Never>
        var timeout: Scheduled<Void>?
    }

    private struct State {
        var channel: (any Channel)?
        var connecting: EventLoopFuture<any Channel>?
        var nextID: UInt32 = 0
        var pending: [UInt32: Pending] = [:]
        /// Connections to a process being replaced: closed once their last request is answered.
        var retired: [ObjectIdentifier: any Channel] = [:]
    }

    private let path: String
    private let group: any EventLoopGroup
    private let log: any LogSink
    private let state = Mutex(State())
    /// A request unanswered this long gets a temporary failure (the worker is wedged, not merely slow).
    static let requestTimeout: TimeAmount = .seconds(60)

    /// The login process cannot open the auth socket (chroot, another uid): serve connects for it and passes the
    /// connected descriptor (`LoginProcess`). Returns -1 when the auth process cannot be reached.
    private let connector: (@Sendable () -> Int32)?

    init(
        socketPath: String, group: any EventLoopGroup, log: any LogSink, connector: (@Sendable () -> Int32)? = nil
    ) {
        self.path = socketPath
        self.group = group
        self.log = log
        self.connector = connector
    }

    public func authenticate(_ request: AuthRequest) async -> AuthResult {
        await call { .authenticate(id: $0, request) }
    }

    /// Userdb lookup without a password (LMTP delivery); a temporary failure when the auth process is unavailable.
    public func lookup(_ user: String) async -> AuthResult {
        await call { .lookup(id: $0, user: user) }
    }

    /// One step of a SCRAM exchange; the auth process keeps the exchange between steps.
    public func saslStep(_ request: SASLStepRequest) async -> SASLStepReply {
        for _ in 0..<3 {
            switch await attempt({ .saslStep(id: $0, request) }) {
            case .sasl(let reply): return reply
            case .done(let result): return .finished(result, serverFinal: nil)
            case .retry: continue
            }
        }
        return .finished(.failure(.temporaryFailure), serverFinal: nil)
    }

    private func call(_ make: @escaping @Sendable (UInt32) -> AuthWire.Request) async -> AuthResult {
        // A reload replaces the auth process: its old self answers "retry" to what it can no longer take.
        for _ in 0..<3 {
            switch await attempt(make) {
            case .done(let result): return result
            case .sasl: return .failure(.temporaryFailure)
            case .retry: continue
            }
        }
        return .failure(.temporaryFailure)
    }

    private func attempt(_ make: @escaping @Sendable (UInt32) -> AuthWire.Request) async -> Outcome {
        guard let channel = await connectedChannel() else { return .done(.failure(.temporaryFailure)) }
        let key = ObjectIdentifier(channel)
        return await withCheckedContinuation { continuation in
            let id = state.withLock { state -> UInt32? in
                // Retired (or lost) since we got it, before anything was sent: take the next connection.
                guard let current = state.channel, ObjectIdentifier(current) == key else { return nil }
                state.nextID &+= 1
                state.pending[state.nextID] = Pending(channel: key, continuation: continuation)
                return state.nextID
            }
            guard let id else {
                continuation.resume(returning: .retry)
                return
            }
            guard let bytes = try? AuthWire.encode(make(id)) else {
                finish(id, .failure(.temporaryFailure))
                return
            }
            channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenFailure { [self] _ in
                finish(id, .failure(.temporaryFailure))
            }
            let timeout = channel.eventLoop.scheduleTask(in: Self.requestTimeout) { [self] in
                finish(id, .failure(.temporaryFailure))
            }
            state.withLock { $0.pending[id]?.timeout = timeout }
        }
    }

    /// Resumes the caller of `id` once; later answers for it (a timeout after the reply) are ignored.
    func finish(_ id: UInt32, _ result: AuthResult) {
        finish(id, .done(result))
    }

    func finish(_ id: UInt32, _ outcome: Outcome) {
        let (pending, idle) = state.withLock { state -> (Pending?, (any Channel)?) in
            guard let pending = state.pending.removeValue(forKey: id) else { return (nil, nil) }
            guard let retired = state.retired[pending.channel],
                !state.pending.values.contains(where: { $0.channel == pending.channel })
            else { return (pending, nil) }
            state.retired[pending.channel] = nil
            return (pending, retired)
        }
        idle?.close(promise: nil)
        pending?.timeout?.cancel()
        pending?.continuation.resume(returning: outcome)
    }

    /// The process behind `channel` is being replaced: new requests go to a new connection.
    func retire(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        state.withLock { state in
            if let current = state.channel, ObjectIdentifier(current) == key { state.channel = nil }
            state.retired[key] = channel
        }
    }

    func connectionClosed(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        let failed = state.withLock { state in
            if let current = state.channel, ObjectIdentifier(current) == key { state.channel = nil }
            state.retired[key] = nil
            let ids = state.pending.filter { $0.value.channel == key }.map(\.key)
            return ids.compactMap { state.pending.removeValue(forKey: $0) }
        }
        if !failed.isEmpty {
            log.error("auth", "auth process connection lost: \(failed.count) request(s) get a temporary failure")
        }
        for pending in failed {
            pending.timeout?.cancel()
            pending.continuation.resume(returning: .done(.failure(.temporaryFailure)))
        }
    }

    private func connectedChannel() async -> (any Channel)? {
        let (future, promise): (EventLoopFuture<any Channel>, EventLoopPromise<any Channel>?) = state.withLock {
            state in
            if let channel = state.channel, channel.isActive {
                return (channel.eventLoop.makeSucceededFuture(channel), nil)
            }
            if let connecting = state.connecting { return (connecting, nil) }
            let promise = group.next().makePromise(of: (any Channel).self)
            state.connecting = promise.futureResult
            return (promise.futureResult, promise)
        }
        if let promise {
            let bootstrap = ClientBootstrap(group: promise.futureResult.eventLoop)
                .channelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(AuthWireClientHandler(client: self))
                    }
                }
            let connected: EventLoopFuture<any Channel>
            if let connector {
                let fd = connector()
                connected =
                    fd >= 0
                    ? bootstrap.withConnectedSocket(fd)
                    : promise.futureResult.eventLoop.makeFailedFuture(ServerStartError("serve did not connect"))
            } else {
                connected = bootstrap.connect(unixDomainSocketPath: path)
            }
            connected
                .whenComplete { [self] result in
                    state.withLock { state in
                        state.connecting = nil
                        if case .success(let channel) = result { state.channel = channel }
                    }
                    if case .failure(let error) = result {
                        log.error("auth", "Cannot reach the auth process at \(path): \(error)")
                    }
                    promise.completeWith(result)
                }
        }
        return try? await future.get()
    }
}

/// Decodes replies for `AuthProcessClient`; a malformed reply closes the connection (its requests fail).
final class AuthWireClientHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let client: AuthProcessClient
    private let frames = Mutex(AuthWire.FrameBuffer())

    init(client: AuthProcessClient) { self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        var replies: [AuthWire.Reply] = []
        var saslReplies: [(UInt32, SASLStepReply)] = []
        do {
            try frames.withLock { frames throws(AuthWireError) in
                frames.append(buffer.readableBytesView)
                while let payload = try frames.next() {
                    if AuthWire.isSASLReply(payload) {
                        saslReplies.append(try AuthWire.decodeSASLReply(payload))
                    } else {
                        replies.append(try AuthWire.decodeReply(payload))
                    }
                }
            }
        } catch {
            context.close(promise: nil)
        }
        for (id, reply) in saslReplies { client.finish(id, .sasl(reply)) }
        for reply in replies {
            if reply.retry {
                client.retire(context.channel)
                client.finish(reply.id, .retry)
            } else {
                client.finish(reply.id, reply.result)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.connectionClosed(context.channel)
        context.fireChannelInactive()
    }
}
