import ArgumentParser
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Synchronization

/// Opens N authenticated connections and holds them idle until SIGTERM or stdin EOF.
struct Idle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Hold N logged-in idle IMAP connections (prints READY n).")
    @OptionGroup var server: ServerOptions
    @Option(help: "Users, e.g. test1..test200 (used round-robin).") var users = "test1..test200"
    @Option(help: "Connections to open.") var connections = 1000
    @Option(help: "Connections being opened at once.") var parallel = 16
    @Flag(help: "Do not stop at EOF on stdin (only on SIGTERM/SIGINT), e.g. when started in the background.")
    var ignoreStdin = false

    func run() async throws {
        let endpoint = try server.endpoint()
        let users = try parseUsers(self.users)
        let password = server.password
        let errors = ErrorLog()
        let total = connections
        let start = now()
        var open: [IMAPConnection] = []
        open.reserveCapacity(total)
        await withTaskGroup(of: IMAPConnection?.self) { group in
            var next = 0
            func opener(_ i: Int) -> @Sendable () async -> IMAPConnection? {
                {
                    do {
                        let c = try await IMAPConnection.open(endpoint, group: eventLoopGroup)
                        do {
                            try await login(c, user: users[i % users.count], password: password)
                        } catch {
                            await c.close()
                            throw error
                        }
                        return c
                    } catch {
                        errors.record("\(error)")
                        return nil
                    }
                }
            }
            while next < min(parallel, total) {
                group.addTask(operation: opener(next))
                next += 1
            }
            for await connection in group {
                if let connection { open.append(connection) }
                if next < total {
                    group.addTask(operation: opener(next))
                    next += 1
                }
            }
        }
        let openSeconds = now() - start
        print("READY \(open.count)")
        fflush(nil)
        await waitForStop(watchStdin: !ignoreStdin)
        let stillOpen = open.filter { $0.channel.isActive }.count
        await withTaskGroup(of: Void.self) { group in
            for c in open { group.addTask { await c.close() } }
        }
        report(
            [
                ("bench", .string("idle")), ("server", .string(server.label)), ("port", .int(server.port)),
                ("tls", .bool(server.tls)), ("requested", .int(total)), ("open", .int(open.count)),
                ("still_open_at_end", .int(stillOpen)), ("failures", .int(errors.count)),
                ("open_seconds", .double(openSeconds)), ("errors", errors.json),
            ],
            human: "idle \(server.label): \(open.count)/\(total) connections logged in in \(fmt(openSeconds))s, "
                + "\(stillOpen) still open at the end, \(errors.count) failures \(errors.summary)")
    }
}

/// Returns on SIGTERM, SIGINT or EOF on stdin.
func waitForStop(watchStdin: Bool) async {
    let (stream, continuation) = AsyncStream<Void>.makeStream()
    signal(SIGTERM, SIG_IGN)
    signal(SIGINT, SIG_IGN)
    let sources = [SIGTERM, SIGINT].map { sig in
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { continuation.yield() }
        source.resume()
        return source
    }
    if watchStdin {
        DispatchQueue.global().async {
            var byte: UInt8 = 0
            while read(0, &byte, 1) > 0 {}
            continuation.yield()
        }
    }
    for await _ in stream { break }
    withExtendedLifetime(sources) {}
}

/// connect, LOGIN, LOGOUT in a loop.
struct Logins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Login rate: connect, (TLS), LOGIN, LOGOUT, repeat.")
    @OptionGroup var server: ServerOptions
    @Option(help: "Users, used round-robin.") var users = "test1..test200"
    @Option var concurrency = 10
    @Option(help: "e.g. 20s") var duration = "20s"

    func run() async throws {
        let endpoint = try server.endpoint()
        let users = try parseUsers(self.users)
        let password = server.password
        let seconds = try parseDuration(duration)
        let errors = ErrorLog()
        let concurrency = self.concurrency
        let start = now()
        let deadline = start + seconds
        var logins = 0
        var latencies: [Double] = []
        await withTaskGroup(of: (Int, [Double]).self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var ok = 0
                    var lat: [Double] = []
                    var k = 0
                    while now() < deadline {
                        let user = users[(worker + k * concurrency) % users.count]
                        k += 1
                        let t0 = now()
                        do {
                            let c = try await IMAPConnection.open(endpoint, group: eventLoopGroup)
                            do {
                                try await login(c, user: user, password: password)
                                _ = try await c.send("LOGOUT")
                                await c.close()
                            } catch {
                                await c.close()
                                throw error
                            }
                            ok += 1
                            lat.append(now() - t0)
                        } catch {
                            errors.record("\(error)")
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                    }
                    return (ok, lat)
                }
            }
            for await (ok, lat) in group {
                logins += ok
                latencies += lat
            }
        }
        let elapsed = now() - start
        latencies.sort()
        let rate = Double(logins) / elapsed
        report(
            [
                ("bench", .string("logins")), ("server", .string(server.label)), ("port", .int(server.port)),
                ("tls", .bool(server.tls)), ("concurrency", .int(concurrency)), ("seconds", .double(elapsed)),
                ("logins", .int(logins)), ("logins_per_s", .double(rate)), ("failures", .int(errors.count)),
                ("latency_p50_ms", .double(percentile(latencies, 0.5) * 1000)),
                ("latency_p99_ms", .double(percentile(latencies, 0.99) * 1000)), ("ops", .int(logins)),
                ("errors", errors.json),
            ],
            human: "logins \(server.label)\(server.tls ? " (TLS)" : ""): \(fmt(rate, 1))/s (\(logins) in \(fmt(elapsed))s, "
                + "p50 \(fmt(percentile(latencies, 0.5) * 1000, 1)) ms), \(errors.count) failures \(errors.summary)")
    }
}

/// The mixed client workload.
struct Mixed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mixed workload: login, LIST, STATUS, SELECT, FETCH flags/headers/bodies, STORE, APPEND, EXPUNGE, LOGOUT.")
    @OptionGroup var server: ServerOptions
    @Option(help: "Users; worker i uses user i (mod count).") var users = "test3..test200"
    @Option var concurrency = 10
    @Option(help: "e.g. 30s") var duration = "30s"
    @Option(help: "Size of the appended message.") var appendSize = 4096

    final class Tally: Sendable {
        let state = Mutex<(ok: Int, failed: Int, cycles: Int, bytes: Int, perCommand: [String: (n: Int, t: Double)])>(
            (0, 0, 0, 0, [:]))
    }

    func run() async throws {
        let endpoint = try server.endpoint()
        let users = try parseUsers(self.users)
        let password = server.password
        let seconds = try parseDuration(duration)
        let errors = ErrorLog()
        let tally = Tally()
        let appendSize = self.appendSize
        let start = now()
        let deadline = start + seconds
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                let user = users[worker % users.count]
                group.addTask {
                    var serial = worker * 1_000_000
                    while now() < deadline {
                        serial += 1
                        await mixedCycle(
                            endpoint: endpoint, user: user, password: password, serial: serial, appendSize: appendSize,
                            errors: errors, tally: tally)
                    }
                }
            }
        }
        let elapsed = now() - start
        let s = tally.state.withLock { $0 }
        let rate = Double(s.ok) / elapsed
        let perCommand: [(String, JSON)] = s.perCommand.sorted { $0.key < $1.key }.map {
            ($0.key, .object([("n", .int($0.value.n)), ("avg_ms", .double($0.value.t / Double(max(1, $0.value.n)) * 1000))]))
        }
        report(
            [
                ("bench", .string("mixed")), ("server", .string(server.label)), ("port", .int(server.port)),
                ("tls", .bool(server.tls)), ("concurrency", .int(concurrency)), ("seconds", .double(elapsed)),
                ("ops", .int(s.ok)), ("ops_per_s", .double(rate)), ("cycles", .int(s.cycles)),
                ("failed_commands", .int(s.failed)), ("errors_total", .int(errors.count)),
                ("response_mb", .double(Double(s.bytes) / 1e6)), ("per_command", .object(perCommand)),
                ("errors", errors.json),
            ],
            human: "mixed \(server.label): \(fmt(rate, 1)) ops/s (\(s.ok) ops, \(s.cycles) cycles in \(fmt(elapsed))s), "
                + "\(errors.count) errors \(errors.summary)")
    }
}

/// One mixed-workload session. Every command is one op; a NO/BAD is an error (the cycle goes on where it can).
func mixedCycle(
    endpoint: Endpoint, user: String, password: String, serial: Int, appendSize: Int, errors: ErrorLog,
    tally: Mixed.Tally
) async {
    let connection: IMAPConnection
    do {
        connection = try await IMAPConnection.open(endpoint, group: eventLoopGroup)
    } catch {
        errors.record("connect: \(error)")
        try? await Task.sleep(for: .milliseconds(20))
        return
    }
    var completedCycle = false
    defer { if completedCycle { tally.state.withLock { $0.cycles += 1 } } }
    func run(_ name: String, _ command: String, literal: ByteBuffer? = nil) async throws -> IMAPReply {
        let t0 = now()
        let reply = try await connection.send(command, literal: literal)
        let dt = now() - t0
        tally.state.withLock {
            if reply.isOK { $0.ok += 1 } else { $0.failed += 1 }
            $0.bytes += reply.bytes
            $0.perCommand[name, default: (0, 0)].n += 1
            $0.perCommand[name, default: (0, 0)].t += dt
        }
        if !reply.isOK { errors.record("\(name) -> \(reply.text)") }
        return reply
    }
    do {
        let loginReply = try await run("LOGIN", "LOGIN \(imapQuote(user)) \(imapQuote(password))")
        guard loginReply.isOK else {
            await connection.close()
            return
        }
        _ = try await run("LIST", "LIST \"\" \"*\"")
        _ = try await run("STATUS", "STATUS INBOX (MESSAGES UIDNEXT)")
        let select = try await run("SELECT", "SELECT INBOX")
        let n = select.exists ?? 0
        if select.isOK, n > 0 {
            _ = try await run("FETCH_FLAGS", "FETCH 1:* (FLAGS)")
            _ = try await run("FETCH_HEADERS", "FETCH \(max(1, n - 19)):\(n) (BODY.PEEK[HEADER])")
            _ = try await run("FETCH_BODIES", "FETCH 1:\(min(5, n)) (BODY.PEEK[])")
            _ = try await run("STORE_SEEN", "STORE 1:\(min(3, n)) +FLAGS (\\Seen)")
        }
        var literal = connection.channel.allocator.buffer(capacity: appendSize + 2)
        literal.writeBytes(makeMessage(size: appendSize, serial: serial, to: user))
        let append = try await run("APPEND", "APPEND INBOX {\(appendSize)}", literal: literal)
        if append.isOK, select.isOK {
            if let uid = appendUID(append.text) {
                _ = try await run("STORE_DELETED", "UID STORE \(uid) +FLAGS.SILENT (\\Deleted)")
            } else {
                errors.record("APPEND gave no APPENDUID: \(append.text)")
                _ = try await run("STORE_DELETED", "STORE * +FLAGS.SILENT (\\Deleted)")
            }
            _ = try await run("EXPUNGE", "EXPUNGE")
        }
        _ = try await run("LOGOUT", "LOGOUT")
        completedCycle = true
    } catch {
        errors.record("\(user): \(error)")
    }
    await connection.close()
}

/// `OK [APPENDUID 123 456] …` → 456
func appendUID(_ text: String) -> Int? {
    guard let range = text.firstRange(of: "[APPENDUID ") else { return nil }
    let parts = text[range.upperBound...].prefix { $0 != "]" }.split(separator: " ")
    guard parts.count == 2 else { return nil }
    return Int(parts[1])
}

/// `UID FETCH 1:* ITEMS` over a whole mailbox, timed.
struct Fetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Time UID FETCH 1:* ITEMS over a mailbox (seconds, MB/s).")
    @OptionGroup var server: ServerOptions
    @Option var user = "test1"
    @Option var mailbox = "INBOX"
    @Option(help: "FETCH items.") var items = "(FLAGS RFC822.SIZE ENVELOPE)"
    @Option(help: "Times to run the FETCH on the same connection; the first is reported apart.") var repeats = 3

    func run() async throws {
        let endpoint = try server.endpoint()
        var times: [Double] = []
        var bytes = 0
        var messages = 0
        var exists = 0
        var failure: String?
        do {
            let c = try await IMAPConnection.open(endpoint, group: eventLoopGroup)
            try await login(c, user: user, password: server.password)
            let select = try await expectOK(c, "EXAMINE \(imapQuote(mailbox))")
            exists = select.exists ?? 0
            for _ in 0..<max(1, repeats) {
                let t0 = now()
                let reply = try await expectOK(c, "UID FETCH 1:* \(items)")
                times.append(now() - t0)
                bytes = reply.bytes
                messages = reply.untagged
            }
            _ = try? await c.send("LOGOUT")
            await c.close()
        } catch {
            failure = "\(error)"
        }
        let warm = times.count > 1 ? Array(times.dropFirst()) : times
        let seconds = median(warm)
        let mbps = Double(bytes) / seconds / 1e6
        report(
            [
                ("bench", .string("fetch")), ("server", .string(server.label)), ("port", .int(server.port)),
                ("tls", .bool(server.tls)), ("user", .string(user)), ("items", .string(items)),
                ("exists", .int(exists)), ("messages", .int(messages)), ("bytes", .int(bytes)),
                ("first_seconds", times.first.map { .double($0) } ?? .null), ("seconds", .double(seconds)),
                ("best_seconds", .double(warm.min() ?? .nan)), ("mb_per_s", .double(mbps)),
                ("runs", .array(times.map { .double($0) })), ("ops", .int(times.count)),
                ("error", failure.map { .string($0) } ?? .null),
            ],
            human: "fetch \(server.label) \(items): "
                + (failure.map { "FAILED: \($0)" }
                    ?? "\(messages) messages, \(fmt(Double(bytes) / 1e6, 1)) MB in \(fmt(seconds, 3))s warm = \(fmt(mbps, 1)) MB/s (first run \(fmt(times.first ?? .nan, 3))s)"))
        if failure != nil { throw ExitCode(2) }
    }
}

/// SELECT of a (big) mailbox, each on a fresh session, timed.
struct Select: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Time SELECT of a mailbox, each time on a new session.")
    @OptionGroup var server: ServerOptions
    @Option var user = "test2"
    @Option var mailbox = "INBOX"
    @Option var repeats = 3

    func run() async throws {
        let endpoint = try server.endpoint()
        var times: [Double] = []
        var exists = 0
        var bytes = 0
        var failure: String?
        do {
            for _ in 0..<max(1, repeats) {
                let c = try await IMAPConnection.open(endpoint, group: eventLoopGroup)
                try await login(c, user: user, password: server.password)
                let t0 = now()
                let reply = try await expectOK(c, "SELECT \(imapQuote(mailbox))")
                times.append(now() - t0)
                exists = reply.exists ?? 0
                bytes = reply.bytes
                _ = try? await c.send("LOGOUT")
                await c.close()
            }
        } catch {
            failure = "\(error)"
        }
        let seconds = median(times)
        report(
            [
                ("bench", .string("select")), ("server", .string(server.label)), ("port", .int(server.port)),
                ("user", .string(user)), ("exists", .int(exists)), ("response_bytes", .int(bytes)),
                ("seconds", .double(seconds)), ("best_seconds", .double(times.min() ?? .nan)),
                ("first_seconds", .double(times.first ?? .nan)),
                ("runs", .array(times.map { .double($0) })), ("ops", .int(times.count)),
                ("error", failure.map { .string($0) } ?? .null),
            ],
            human: "select \(server.label) \(user)/\(mailbox): "
                + (failure.map { "FAILED: \($0)" }
                    ?? "\(exists) messages, median \(fmt(seconds * 1000, 1)) ms (first \(fmt((times.first ?? .nan) * 1000, 1)) ms)"))
        if failure != nil { throw ExitCode(2) }
    }
}

/// First open of each user's INBOX (builds the servers' indexes; not a benchmark figure, but timed).
struct Prime: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "SELECT INBOX once per user so the server builds its index.")
    @OptionGroup var server: ServerOptions
    @Option var users = "test1..test200"
    @Option var parallel = 4
    @Option(help: "Also run this FETCH after SELECT (e.g. \"1:* (FLAGS)\").") var fetch: String?

    func run() async throws {
        let endpoint = try server.endpoint()
        let users = try parseUsers(self.users)
        let password = server.password
        let errors = ErrorLog()
        let fetch = self.fetch
        let parallel = self.parallel
        let times = Locked<[(String, Double, Int)]>([])
        let start = now()
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<parallel {
                group.addTask {
                    var i = lane
                    while i < users.count {
                        let user = users[i]
                        i += parallel
                        do {
                            let c = try await IMAPConnection.open(endpoint, group: eventLoopGroup)
                            try await login(c, user: user, password: password)
                            let t0 = now()
                            let reply = try await expectOK(c, "SELECT INBOX")
                            if let fetch { _ = try await expectOK(c, "FETCH \(fetch)") }
                            times.withLock { $0.append((user, now() - t0, reply.exists ?? 0)) }
                            _ = try? await c.send("LOGOUT")
                            await c.close()
                        } catch {
                            errors.record("\(user): \(error)")
                        }
                    }
                }
            }
        }
        let all = times.withLock { $0 }.sorted { $0.1 > $1.1 }
        let slowest = all.prefix(3).map { JSON.object([("user", .string($0.0)), ("seconds", .double($0.1)), ("exists", .int($0.2))]) }
        report(
            [
                ("bench", .string("prime")), ("server", .string(server.label)), ("users", .int(users.count)),
                ("opened", .int(all.count)), ("seconds", .double(now() - start)), ("slowest_first_select", .array(slowest)),
                ("failures", .int(errors.count)), ("errors", errors.json),
            ],
            human: "prime \(server.label): \(all.count)/\(users.count) INBOXes opened in \(fmt(now() - start))s; slowest first SELECT: "
                + all.prefix(3).map { "\($0.0) \(fmt($0.1, 3))s (\($0.2) msgs)" }.joined(separator: ", ")
                + (errors.count > 0 ? "; \(errors.count) failures \(errors.summary)" : ""))
    }
}
