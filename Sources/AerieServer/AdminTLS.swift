import AerieAuth
public import AerieConfig
import AerieCore
import Dispatch
import NIOCore
import NIOPosix
import NIOSSL
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// `service aerie-admin { inet_listener NAME { address port } }`: `aerie adm` over TCP with mutual TLS (issue 13
/// item 6). TLS 1.2 or later with the server certificate; the client must present a certificate that chains to
/// `admin_ssl_ca_file` (its CRLs checked as for `ssl_server_ca_file`) and whose subject is one of
/// `admin_allowed_subjects`. Every request is logged with that subject.
public struct AdminTLS: Sendable {
    let context: NIOSSLContext
    let allowedSubjects: Set<String>
    let endpoints: [Endpoint]

    struct Endpoint: Sendable {
        var host: String
        var port: Int
    }

    /// nil when no admin listener is configured. Configuration loading already refused a listener without a CA or
    /// without allowed subjects (with file:line).
    public static func prepare(settings: AerieSettings, keeper: KeyKeeper?) throws -> AdminTLS? {
        let listeners = (settings.service(named: AdminListener.service)?.inetListeners ?? []).filter {
            ($0.port ?? 0) > 0
        }
        guard !listeners.isEmpty else { return nil }
        let path = settings.value(forKey: "admin_ssl_ca_file") ?? ""
        let allowed = Set(AdminListener.allowedSubjects(settings))
        guard !path.isEmpty, !allowed.isEmpty else {
            throw ServerStartError("service aerie-admin needs admin_ssl_ca_file and admin_allowed_subjects")
        }
        let verifier: ClientCertificateVerifier
        do {
            let text = String(decoding: try KeyKeeperProcess.readFile(path), as: UTF8.self)
            verifier = try ClientCertificateVerifier.parse(
                pem: text, requireCRL: settings.value(forKey: "admin_ssl_require_crl") != "no")
        } catch {
            throw ServerStartError("Cannot read admin_ssl_ca_file=\(path): \(error)")
        }
        guard !verifier.authorities.isEmpty else {
            throw ServerStartError("admin_ssl_ca_file=\(path) holds no PEM CERTIFICATE")
        }
        var tlsSettings = settings
        if [.any, .tls1, .tls1_1].contains(tlsSettings.sslMinProtocol) { tlsSettings.sslMinProtocol = .tls1_2 }
        let context = try TLSSetup.makeContext(
            settings: tlsSettings, keeper: keeper, clientCertificates: verifier, requireClientCertificate: true)
        var endpoints: [Endpoint] = []
        for listener in listeners {
            for address in listener.address ?? settings.listen {
                for host in ListenerPlan.hosts(for: address) {
                    endpoints.append(Endpoint(host: host, port: listener.port ?? 0))
                }
            }
        }
        return AdminTLS(context: context, verifier: verifier, allowedSubjects: allowed, endpoints: endpoints)
    }

    let verifier: ClientCertificateVerifier

    init(context: NIOSSLContext, verifier: ClientCertificateVerifier, allowedSubjects: Set<String>,
         endpoints: [Endpoint]) {
        self.context = context
        self.verifier = verifier
        self.allowedSubjects = allowedSubjects
        self.endpoints = endpoints
    }

    /// The subject of a verified peer certificate as `admin_allowed_subjects` writes it (RFC 4514, most specific
    /// attribute first).
    static func subject(_ peer: NIOSSLCertificate?) -> String? {
        guard let der = try? peer?.toDERBytes(), let certificate = try? Certificate(derEncoded: der) else {
            return nil
        }
        return subject(of: certificate)
    }

    static func subject(of certificate: Certificate) -> String {
        AdminListener.normalize(certificate.subject.description)
    }
}

extension AerieServer {
    /// `state_dir/auth`, made (or fixed) as root at start with the auth process's group and mode 0770: the auth
    /// process records spent TOTP steps there and, for `aerie adm --host`, changes second factors.
    static func prepareSecondFactorDirectory(_ settings: AerieSettings) {
        guard Privileges.isRoot, !settings.stateDir.isEmpty,
            let account = try? AuthServiceProcess.internalAccount(settings)
        else { return }
        try? SecondFactorStore(directory: settings.stateDir + "/auth").prepareDirectory(group: account.gid)
    }

    /// Binds the `service aerie-admin` TCP listeners (before the privilege drop, like every listener).
    func bindAdminTLS(_ admin: AdminTLS, executor: AdminExecutor) async throws {
        let log = self.log
        for endpoint in admin.endpoints {
            let bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(admin.verifier.serverHandler(context: admin.context))
                        try sync.addHandler(
                            AdminTLSConnectionHandler(
                                executor: executor, log: log, allowed: admin.allowedSubjects,
                                remoteIP: channel.remoteAddress?.ipAddress ?? "unknown"))
                    }
                }
            do {
                let channel = try await bootstrap.bind(host: endpoint.host, port: endpoint.port).get()
                adoptListener(channel)
                log.info(
                    "master", "Listening for aerie adm on \(endpoint.host):\(endpoint.port) (TLS, client certificates)")
            } catch {
                throw ServerStartError("Cannot listen on \(endpoint.host):\(endpoint.port) (aerie-admin): \(error)")
            }
        }
    }
}

/// One `aerie adm --host` connection: after the handshake, one request, one answer, then close.
final class AdminTLSConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let executor: AdminExecutor
    private let log: any LogSink
    private let allowed: Set<String>
    private let remoteIP: String
    private var request = AdminRequestReader()
    private var timeout: Scheduled<Void>?

    init(executor: AdminExecutor, log: any LogSink, allowed: Set<String>, remoteIP: String) {
        self.executor = executor
        self.log = log
        self.allowed = allowed
        self.remoteIP = remoteIP
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // A client that says nothing is not kept: the handshake and the request must come within 30 s.
        let channel = context.channel
        timeout = context.eventLoop.scheduleTask(in: .seconds(30)) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { timeout?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let words = request.next(unwrapInboundIn(data), channel: context.channel) else { return }
        let peer = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
        let subject = AdminTLS.subject(peer ?? nil)
        let who = "subject=\"\(subject.map(LogSafe.userName) ?? "?")\" ip=\(remoteIP)"
        guard let subject, allowed.contains(subject) else {
            log.warning("master", "admin(\(who)): refused: the subject is not in admin_allowed_subjects")
            AdminRequestReader.send(ok: false, text: "certificate subject not allowed", channel: context.channel)
            return
        }
        AdminRequestReader.answer(words, who: who, executor: executor, log: log, channel: context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !request.answered { log.warning("master", "admin(ip=\(remoteIP)): TLS connection failed: \(error)") }
        request.giveUp()
        context.close(promise: nil)
    }
}
