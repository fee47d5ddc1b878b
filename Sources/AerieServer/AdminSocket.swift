import AerieAuth
import AerieCore
import CAerieSystem
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The serving process's admin socket, `base_dir/aerie-admin`: `aerie adm logins|kick|who` (issue 14, item 5).
///
/// Bound before the privilege drop, 0600 and owned by whoever started `aerie serve` (root in production), so only
/// that account may ask. A request is one AuthWire admin frame; the answer is `+` or `-`, text, then EOF. Every
/// request is logged with the asking process's uid and pid (SO_PEERCRED).
public enum AdminSocket {
    public static func path(baseDir: String) -> String { baseDir + "/aerie-admin" }

    /// Answered and logged, then the connection closes. `who`: the asker as the log names it.
    static func answer(
        _ words: [String], who: String, executor: AdminExecutor, log: any LogSink
    ) async -> (ok: Bool, text: String) {
        if AdminCommand.isAuthProcessCommand(words) {
            let (ok, text) = await executor.askAuthProcess(words)
            log.info("master", "admin(\(who)): \(AdminCommand.authLogDescription(words)): \(ok ? "done" : "failed")")
            return (ok, text)
        }
        return await handle(words, who: who, executor: executor, log: log)
    }

    static func handle(
        _ words: [String], who: String, executor: AdminExecutor, log: any LogSink
    ) async -> (ok: Bool, text: String) {
        guard let command = AdminCommand(words) else {
            let asked = words.map { LogSafe.userName($0) }.joined(separator: " ")
            log.info("master", "admin(\(who)): refused \"\(asked)\": \(AdminCommand.usage)")
            return (false, AdminCommand.usage)
        }
        let (ok, text) = await executor.runWithLoginProcess(command, words: words)
        let lines = text.split(separator: "\n")
        // Session rows have tabs; notes on processes that did not answer do not.
        let rows = lines.count { $0.contains("\t") } - 1
        let summary = if case .who = command { "\(rows) sessions" } else { lines.joined(separator: "; ") }
        log.info("master", "admin(\(who)): \(command.logDescription): \(summary)")
        return (ok, text)
    }
}

extension AerieServer {
    /// Binds `base_dir/aerie-admin`. Call before dropping privileges, so the socket stays the starting account's.
    /// The `service aerie-admin` TCP listeners (mutual TLS) are bound here too.
    /// `loginWorker`: the login process, asked for its pre-login connections; `master`: the master's admin relay
    /// (`MasterAdmin`).
    public func bindAdminSocket(
        baseDir: String, loginWorker: LoginWorkerAdmin? = nil, master: LoginWorkerAdmin? = nil
    ) async throws {
        let path = AdminSocket.path(baseDir: baseDir)
        let executor = AdminExecutor(
            registry: registry, logins: loginSwitch, authSocketPath: authSocketPath, loginWorker: loginWorker,
            master: master, group: group)
        let log = self.log
        let bootstrap = ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AdminConnectionHandler(executor: executor, log: log))
                }
            }
        // Created 0600 from the start: nobody but the starting account may connect.
        let oldMask = umask(0o177)
        defer { umask(oldMask) }
        do {
            let channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            adoptListener(channel)
        } catch {
            throw ServerStartError("Cannot listen on the admin socket \(path): \(error)")
        }
        if let adminTLS { try await bindAdminTLS(adminTLS, executor: executor) }
    }
}

extension AerieServer {
    /// The login process: answers the mail service's `who all` and `kick` for its pre-login connections on `fd`.
    public func serveLoginAdmin(fd: Int32) {
        LoginAdmin.serve(fd: fd, executor: AdminExecutor(registry: registry, logins: loginSwitch))
    }

    /// `--login-disabled SERVICE=REASON`: the incident switch as the master holds it, at start.
    public func disableLogins(arguments: [String]) throws {
        try loginSwitch.apply(arguments: arguments)
    }
}

/// One `aerie adm` connection: one request, one answer, then close.
final class AdminConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let executor: AdminExecutor
    private let log: any LogSink
    private var request = AdminRequestReader()

    init(executor: AdminExecutor, log: any LogSink) {
        self.executor = executor
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let words = request.next(unwrapInboundIn(data), channel: context.channel) else { return }
        let credentials: EventLoopFuture<aerie_ucred>
        if let provider = context.channel as? any SocketOptionProvider {
            credentials = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        } else {
            credentials = context.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
        }
        let channel = context.channel
        credentials.whenComplete { [executor, log] result in
            let who = (try? result.get()).map { "uid=\($0.uid) pid=\($0.pid)" } ?? "uid=?"
            AdminRequestReader.answer(words, who: who, executor: executor, log: log, channel: channel)
        }
    }
}

/// One admin request off a stream (the unix socket or the TLS listener), answered once: `+` or `-`, text, then EOF.
struct AdminRequestReader {
    private var frames = AuthWire.FrameBuffer()
    /// Set once a request (or a malformed one) was taken: anything after it is ignored.
    private(set) var answered = false

    /// The request's words once its frame is complete and nothing was taken before; nil while more bytes are needed,
    /// after the one request, and on a malformed one (answered here, then the connection closes).
    mutating func next(_ buffer: ByteBuffer, channel: any Channel) -> [String]? {
        guard !answered else { return nil }
        do {
            guard let words = try read(buffer) else { return nil }
            answered = true
            return words
        } catch {
            answered = true
            Self.send(ok: false, text: "malformed request", channel: channel)
            return nil
        }
    }

    /// Nothing more will be answered (the connection failed).
    mutating func giveUp() { answered = true }

    /// nil while more bytes are needed; throws on anything but an admin request.
    mutating func read(_ buffer: ByteBuffer) throws(AuthWireError) -> [String]? {
        frames.append(buffer.readableBytesView)
        guard let payload = try frames.next() else { return nil }
        guard case .admin(_, let arguments) = try AuthWire.decodeRequest(payload) else { throw .malformed }
        return arguments
    }

    /// Runs the request off the event loop (the auth process may be asked) and sends the answer.
    static func answer(
        _ words: [String], who: String, executor: AdminExecutor, log: any LogSink, channel: any Channel
    ) {
        Task {
            let (ok, text) = await AdminSocket.answer(words, who: who, executor: executor, log: log)
            send(ok: ok, text: text, channel: channel)
        }
    }

    static func send(ok: Bool, text: String, channel: any Channel) {
        var out = channel.allocator.buffer(capacity: text.utf8.count + 2)
        out.writeString((ok ? "+" : "-") + text)
        channel.writeAndFlush(out).whenComplete { _ in channel.close(promise: nil) }
    }
}
