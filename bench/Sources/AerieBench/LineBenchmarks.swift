import ArgumentParser
import NIOCore
import Synchronization

/// LMTP deliveries per second.
struct LMTP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "LMTP deliveries per second (MAIL, RCPT, DATA per message).")
    @Option(help: "LMTP unix socket (instead of --host/--port).") var socket: String?
    @Option var host = "127.0.0.1"
    @Option var port: Int = 24
    @Option var label = "server"
    @Option var concurrency = 4
    @Option(help: "Deliveries in total.") var count = 2000
    @Option(help: "Message size in bytes.") var size = 4096
    @Option(help: "Recipients, used round-robin (e.g. test1 or test150..test199).") var rcpt = "test1"
    @Option(help: "Appended to recipients as @DOMAIN when set.") var domain: String?

    final class Counter: Sendable {
        let next = Mutex(0)
        func take(limit: Int) -> Int? {
            next.withLock { n in
                guard n < limit else { return nil }
                n += 1
                return n
            }
        }
    }

    func run() async throws {
        let endpoint = Endpoint(host: host, port: port, unixPath: socket, tls: nil)
        let recipients = try parseUsers(rcpt).map { user in domain.map { "\(user)@\($0)" } ?? user }
        let errors = ErrorLog()
        let counter = Counter()
        let total = count
        let size = self.size
        let start = now()
        var delivered = 0
        await withTaskGroup(of: Int.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var ok = 0
                    do {
                        let c = try await LineConnection.open(endpoint, group: eventLoopGroup, greeting: .smtp(1))
                        let lhlo = try await c.send("LHLO bench.example.com", expect: .smtp(1))
                        guard lhlo.ok else { throw BenchError("LHLO -> \(lhlo.lines.joined(separator: " / "))") }
                        while let serial = counter.take(limit: total) {
                            let to = recipients[serial % recipients.count]
                            let mail = try await c.send("MAIL FROM:<bench@example.com>", expect: .smtp(1))
                            let rcpt = try await c.send("RCPT TO:<\(to)>", expect: .smtp(1))
                            guard mail.ok, rcpt.ok else {
                                errors.record("MAIL/RCPT \(to) -> \((mail.lines + rcpt.lines).joined(separator: " / "))")
                                _ = try await c.send("RSET", expect: .smtp(1))
                                continue
                            }
                            let data = try await c.send("DATA", expect: .smtp(1))
                            guard data.codes.first == 354 else {
                                errors.record("DATA -> \(data.lines.joined(separator: " / "))")
                                continue
                            }
                            var body = c.channel.allocator.buffer(capacity: size + 5)
                            body.writeBytes(makeMessage(size: size, serial: serial, to: to))
                            body.writeStaticString(".\r\n")
                            let reply = try await c.submit(body, expect: .smtp(1)).get()
                            if reply.ok { ok += 1 } else { errors.record("end of DATA -> \(reply.lines.joined(separator: " / "))") }
                        }
                        _ = try? await c.send("QUIT", expect: .smtp(1))
                        await c.close()
                    } catch {
                        errors.record("\(error)")
                    }
                    return ok
                }
            }
            for await ok in group { delivered += ok }
        }
        let elapsed = now() - start
        let rate = Double(delivered) / elapsed
        report(
            [
                ("bench", .string("lmtp")), ("server", .string(label)), ("socket", socket.map { .string($0) } ?? .null),
                ("port", socket == nil ? .int(port) : .null), ("concurrency", .int(concurrency)), ("size", .int(size)),
                ("requested", .int(total)), ("delivered", .int(delivered)), ("seconds", .double(elapsed)),
                ("deliveries_per_s", .double(rate)), ("ops", .int(delivered)), ("failures", .int(errors.count)),
                ("errors", errors.json),
            ],
            human: "lmtp \(label): \(fmt(rate, 1)) deliveries/s (\(delivered)/\(total) in \(fmt(elapsed))s), "
                + "\(errors.count) failures \(errors.summary)")
    }
}

/// POP3: RETR of every message.
struct POP3: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "POP3 RETR of every message in the maildrop (MB/s).")
    @OptionGroup var server: ServerOptions
    @Option var user = "test1"
    @Option(help: "RETRs in flight at once (1 = strictly one after another).") var window = 1

    func run() async throws {
        let endpoint = try server.endpoint()
        var failure: String?
        var messages = 0
        var bytes = 0
        var seconds = Double.nan
        do {
            let c = try await LineConnection.open(endpoint, group: eventLoopGroup, greeting: .single)
            let userReply = try await c.send("USER \(user)", expect: .single)
            let passReply = try await c.send("PASS \(server.password)", expect: .single)
            guard userReply.ok, passReply.ok else {
                throw BenchError("login -> \((userReply.lines + passReply.lines).joined(separator: " / "))")
            }
            let stat = try await c.send("STAT", expect: .single)
            let parts = stat.lines.first?.split(separator: " ") ?? []
            guard stat.ok, parts.count >= 2, let n = Int(parts[1]) else {
                throw BenchError("STAT -> \(stat.lines.joined())")
            }
            messages = n
            let t0 = now()
            var i = 1
            while i <= n {
                var futures: [EventLoopFuture<LineReply>] = []
                for k in i..<min(n + 1, i + max(1, window)) {
                    var line = c.channel.allocator.buffer(capacity: 16)
                    line.writeString("RETR \(k)\r\n")
                    futures.append(c.submit(line, expect: .multiLine))
                }
                i += futures.count
                for f in futures {
                    let r = try await f.get()
                    guard r.ok else { throw BenchError("RETR -> \(r.lines.joined())") }
                    bytes += r.bytes
                }
            }
            seconds = now() - t0
            _ = try? await c.send("QUIT", expect: .single)
            await c.close()
        } catch {
            failure = "\(error)"
        }
        let mbps = Double(bytes) / seconds / 1e6
        report(
            [
                ("bench", .string("pop3")), ("server", .string(server.label)), ("port", .int(server.port)),
                ("tls", .bool(server.tls)), ("user", .string(user)), ("messages", .int(messages)), ("bytes", .int(bytes)),
                ("seconds", .double(seconds)), ("mb_per_s", .double(mbps)), ("ops", .int(messages)),
                ("error", failure.map { .string($0) } ?? .null),
            ],
            human: "pop3 \(server.label): "
                + (failure.map { "FAILED: \($0)" }
                    ?? "RETR of \(messages) messages, \(fmt(Double(bytes) / 1e6, 1)) MB in \(fmt(seconds, 3))s = \(fmt(mbps, 1)) MB/s"))
        if failure != nil { throw ExitCode(2) }
    }
}
