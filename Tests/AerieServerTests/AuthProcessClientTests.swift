import AerieAuth
import AerieCore
import AerieTestSupport
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import AerieServer

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 11: the server's client of the auth process, over a real unix socket, against the worker's handler or a
/// scripted peer.
@Suite struct AuthProcessClientTests {
    static let password = "Corr3ct horse"

    /// An auth-process stand-in on `dir/auth`: the real handler over a passwd-file with alice and bob.
    func withWorker(_ body: (AuthProcessClient, String) async throws -> Void) async throws {
        let dir = makeTempDirectory("authclient")
        defer { removeTree(dir) }
        let hash = try PasswordSchemes.hash(password: Self.password, scheme: "SHA512-CRYPT")
        let users = "alice:\(hash):1000:1000::/home/alice::userdb_mail=maildir:~/M\nbob:\(hash):1001:1001::/home/bob\n"
        let fd = open(dir + "/users", O_WRONLY | O_CREAT, 0o600)
        _ = users.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
        let log = CollectingLog()
        let pool = PasswordHashingPool(threads: 2, maxQueued: 256)
        var configuration = AuthServiceConfiguration(
            passdbs: [PassDBSpec(name: "main", path: dir + "/users")],
            userdbs: [UserDBSpec(name: "main", path: dir + "/users")])
        configuration.penalty.failureDelay = .zero
        let service = try AuthService(configuration: configuration, log: log, pool: pool)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let worker = AuthWorkerState()
        let listener = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AuthWireServerHandler(service: service, log: log, worker: worker))
                }
            }
            .bind(unixDomainSocketPath: dir + "/auth").get()
        let client = AuthProcessClient(socketPath: dir + "/auth", group: group, log: log)
        try await body(client, dir)
        try await listener.close()
        await pool.shutdown()
        try await group.shutdownGracefully()
    }

    func request(_ user: String, _ password: String) -> AuthRequest {
        AuthRequest(user: user, password: password, mechanism: "PLAIN", service: "imap", remoteIP: "192.0.2.7")
    }

    @Test func concurrentRequestsEachGetTheirOwnAnswer() async throws {
        try await withWorker { client, _ in
            let results = await withTaskGroup(of: (Int, AuthResult).self) { group in
                for i in 0..<60 {
                    group.addTask {
                        let user = i % 3 == 2 ? "ghost" : (i % 2 == 0 ? "alice" : "bob")
                        return (i, await client.authenticate(request(user, i % 5 == 4 ? "wrong" : Self.password)))
                    }
                }
                var out: [Int: AuthResult] = [:]
                for await (i, result) in group { out[i] = result }
                return out
            }
            for (i, result) in results {
                if i % 3 == 2 {
                    #expect(result == .failure(.unknownUser))
                } else if i % 5 == 4 {
                    #expect(result == .failure(.passwordMismatch))
                } else {
                    guard case .success(let user) = result else {
                        Issue.record("request \(i): \(result)")
                        continue
                    }
                    #expect(user.user == (i % 2 == 0 ? "alice" : "bob"))
                    #expect(user.uid == (i % 2 == 0 ? 1000 : 1001))
                }
            }
            #expect(results.count == 60)
            let alice = try #require(
                await client.lookup("alice").user, "lookup of alice")
            #expect(alice == AuthenticatedUser(
                user: "alice", uid: 1000, gid: 1000, home: "/home/alice", extraFields: ["mail": "maildir:~/M"]))
            #expect(await client.lookup("ghost") == .failure(.unknownUser))
        }
    }

    /// Issue 13: SCRAM steps and password requests share the connection; each reply finds its caller.
    @Test func saslStepsTravelBesidePasswordRequests() async throws {
        try await withWorker { client, _ in
            let context = AuthRequest(user: "", password: "", mechanism: "SCRAM-SHA-256", service: "imap")
            async let login = client.authenticate(request("bob", Self.password))
            let first = await client.saslStep(
                SASLStepRequest(exchange: 0, context: context, response: Array("n,,n=alice,r=abcdef".utf8)))
            guard case .challenge(let id, let user, let serverFirst) = first else {
                Issue.record("no challenge: \(first)")
                return
            }
            #expect(user == "alice" && id != 0)
            #expect(String(decoding: serverFirst, as: UTF8.self).hasPrefix("r=abcdef"))
            // alice's SHA512-CRYPT hash cannot serve SCRAM: the exchange goes on and fails at the proof.
            let nonceBytes = serverFirst.dropFirst(2).prefix(while: { $0 != UInt8(ascii: ",") })
            let nonce = String(decoding: nonceBytes, as: UTF8.self)
            let proof = Array("c=biws,r=\(nonce),p=AAAA".utf8)
            let final = await client.saslStep(SASLStepRequest(exchange: id, context: context, response: proof))
            #expect(final == .finished(.failure(.passwordMismatch), serverFinal: nil))
            guard case .success = await login else {
                Issue.record("bob's password login failed")
                return
            }
        }
    }

    /// Issue 11: a login on a connection the master marked for the login process carries a one-time token; only
    /// the master's own connections redeem it, once, for the user's real fields; a forged or replayed one fails.
    @Test func loginTokensAreIssuedToTheLoginProcessAndRedeemedOnceByTheMaster() async throws {
        try await withWorker { client, dir in
            let path = dir + "/auth"
            let login = AuthProcessClient(
                socketPath: path, group: MultiThreadedEventLoopGroup.singleton, log: CollectingLog(),
                connector: {
                    let fd = LoginProcess.connectUnix(path)
                    return LoginProcess.markLogin(fd) ? fd : -1
                })
            guard case .success(let user) = await login.authenticate(request("alice", Self.password)) else {
                Issue.record("alice did not log in")
                return
            }
            let token = try #require(user.extraFields[LoginTokens.field])
            // The master's own connections get no token.
            guard case .success(let plain) = await client.authenticate(request("bob", Self.password)) else {
                Issue.record("bob did not log in")
                return
            }
            #expect(plain.extraFields[LoginTokens.field] == nil)
            // A login-process connection cannot redeem (not even its own token).
            let marked = LoginProcess.connectUnix(path)
            #expect(LoginProcess.markLogin(marked))
            #expect(MailRouter.redeem(token, on: marked)?.result == .failure(.denied))
            close(marked)
            // Nor look a user up without a password: the connection is closed.
            #expect(await login.lookup("bob") == .failure(.temporaryFailure))
            // The master redeems it once, for alice's userdb fields (without the token).
            var expected = user
            expected.extraFields.removeValue(forKey: LoginTokens.field)
            var kept: Int32 = -1
            defer { close(kept) }
            #expect(MailRouter.redeem(token, authSocketPath: path, connection: &kept) == .success(expected))
            #expect(expected.uid == 1000 && expected.extraFields["mail"] == "maildir:~/M")
            // The router keeps its connection for the next login.
            let first = kept
            #expect(first >= 0)
            guard case .success(let again) = await login.authenticate(request("alice", Self.password)),
                let second = again.extraFields[LoginTokens.field]
            else {
                Issue.record("alice did not log in again")
                return
            }
            #expect(MailRouter.redeem(second, authSocketPath: path, connection: &kept) == .success(expected))
            #expect(kept == first)
            #expect(MailRouter.redeem(token, authSocketPath: path, connection: &kept) == .failure(.unknownUser))
            let forged = String(repeating: "a", count: 64)
            #expect(MailRouter.redeem(forged, authSocketPath: path, connection: &kept) == .failure(.unknownUser))
            #expect(MailRouter.redeem("", authSocketPath: path, connection: &kept) == .failure(.unknownUser))
        }
    }

    @Test func nobodyListeningIsATemporaryFailure() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let dir = makeTempDirectory("authclient")
        defer { removeTree(dir) }
        let client = AuthProcessClient(socketPath: dir + "/none", group: group, log: CollectingLog())
        #expect(await client.authenticate(request("alice", Self.password)) == .failure(.temporaryFailure))
        try await group.shutdownGracefully()
    }

    /// A peer that answers per connection as `script` says: requests in flight when it closes fail temporarily,
    /// a "retry" moves the request to a new connection, and a reply for an id nobody asked is ignored.
    func withScriptedPeer(
        _ script: @escaping @Sendable (_ connection: Int, _ request: AuthWire.Request) -> [UInt8]?,
        _ body: (AuthProcessClient, _ socketPath: String) async throws -> Void
    ) async throws {
        let dir = makeTempDirectory("authclient")
        defer { removeTree(dir) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connections = Atomic<Int>(0)
        let listener = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                let number = connections.add(1, ordering: .relaxed).newValue
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedPeer(connection: number, script: script))
                }
            }
            .bind(unixDomainSocketPath: dir + "/auth").get()
        try await body(AuthProcessClient(socketPath: dir + "/auth", group: group, log: CollectingLog()), dir + "/auth")
        try await listener.close()
        try await group.shutdownGracefully()
    }

    @Test func connectionLostMidRequestIsTemporaryAndTheNextConnects() async throws {
        let ok = AuthResult.success(AuthenticatedUser(user: "alice", uid: 1000, gid: 1000, home: "/h"))
        try await withScriptedPeer({ connection, request in
            // First connection: close without answering (the auth process died).
            connection == 1 ? nil : try? AuthWire.encode(AuthWire.Reply(id: request.id, result: ok))
        }) { client, _ in
            #expect(await client.lookup("alice") == .failure(.temporaryFailure))
            #expect(await client.lookup("alice") == ok)
        }
    }

    @Test func retryMovesTheRequestToANewConnection() async throws {
        let ok = AuthResult.success(AuthenticatedUser(user: "bob", uid: 1001, gid: 1001, home: "/h"))
        try await withScriptedPeer({ connection, request in
            if connection == 1 { return try? AuthWire.encode(AuthWire.Reply.retry(id: request.id)) }
            // A stray reply first (unknown id), then the real one.
            let stray = try? AuthWire.encode(AuthWire.Reply(id: request.id &+ 1000, result: .failure(.denied)))
            return (stray ?? []) + ((try? AuthWire.encode(AuthWire.Reply(id: request.id, result: ok))) ?? [])
        }) { client, _ in
            #expect(await client.authenticate(request("bob", Self.password)) == ok)
        }
    }

    /// After a reload the kept connection may reach the old auth process, which does not know the new one's tokens:
    /// a refusal there is asked again on a new connection; a refusal on a new connection is the answer.
    @Test func theRouterAsksARefusedRedeemAgainOnANewConnection() async throws {
        let ok = AuthResult.success(AuthenticatedUser(user: "carol", uid: 1002, gid: 1002, home: "/h"))
        try await withScriptedPeer({ connection, request in
            // Connection 1 knows the first token only; every later one knows every token but "forged".
            guard case .redeem(let id, let token) = request else { return nil }
            let known = connection == 1 ? token == "first" : token != "forged"
            return try? AuthWire.encode(AuthWire.Reply(id: id, result: known ? ok : .failure(.unknownUser)))
        }) { _, path in
            var kept: Int32 = -1
            defer { close(kept) }
            #expect(MailRouter.redeem("first", authSocketPath: path, connection: &kept) == ok)
            // Connection 1 refuses "second": only a new connection can have answered.
            #expect(MailRouter.redeem("second", authSocketPath: path, connection: &kept) == ok)
            #expect(MailRouter.redeem("forged", authSocketPath: path, connection: &kept) == .failure(.unknownUser))
        }
    }

    @Test func malformedReplyClosesTheConnection() async throws {
        try await withScriptedPeer({ _, _ in [0, 0, 0, 2, 0x81, 0] }) { client, _ in
            #expect(await client.lookup("alice") == .failure(.temporaryFailure))
        }
    }
}

extension AuthResult {
    fileprivate var user: AuthenticatedUser? {
        if case .success(let user) = self { return user }
        return nil
    }
}

/// Answers each request with `script`'s bytes; nil closes the connection.
final class ScriptedPeer: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let connection: Int
    let script: @Sendable (Int, AuthWire.Request) -> [UInt8]?
    let frames = Mutex(AuthWire.FrameBuffer())

    init(connection: Int, script: @escaping @Sendable (Int, AuthWire.Request) -> [UInt8]?) {
        self.connection = connection
        self.script = script
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let payloads = frames.withLock { frames -> [[UInt8]] in
            frames.append(buffer.readableBytesView)
            var out: [[UInt8]] = []
            while let payload = try? frames.next() { out.append(payload) }
            return out
        }
        for payload in payloads {
            guard let request = try? AuthWire.decodeRequest(payload), let reply = script(connection, request) else {
                context.close(promise: nil)
                return
            }
            context.writeAndFlush(NIOAny(ByteBuffer(bytes: reply)), promise: nil)
        }
    }
}
