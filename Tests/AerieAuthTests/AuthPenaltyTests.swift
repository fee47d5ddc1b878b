import AerieCore
@testable import AerieAuth
import AerieTestSupport
import Foundation
import Synchronization
import Testing

/// What an IP with no penalty gets (auth_failure_delay 2 s).
let fresh = AuthPenalty.Admission.proceed(penaltyWait: .zero, failureDelay: .seconds(2))

@Suite struct AuthPenaltyTests {
    let t0 = ContinuousClock.now

    func penalty(_ configure: (inout AuthPenaltySettings) -> Void = { _ in }) -> AuthPenalty {
        var settings = AuthPenaltySettings(failureDelay: .seconds(2), maxDelay: .seconds(15))
        configure(&settings)
        return AuthPenalty(settings: settings)
    }

    @Test func delayDoublesFromTheFailureDelayUpToTheMaximum() {
        let p = penalty()
        #expect((0...5).map { p.delay(forPenalty: $0) } == [2, 4, 8, 15, 15, 15].map(Duration.seconds))
        #expect(p.delay(forPenalty: 2, base: .milliseconds(100)) == .milliseconds(400))
        #expect(p.delay(forPenalty: 3, base: .zero) == .zero)
    }

    @Test func eachNewFailureRaisesTheWaitAndASuccessResetsIt() {
        let p = penalty()
        #expect(p.admit(ip: "192.0.2.7", now: t0) == fresh)
        for (i, expected) in [4, 8, 15, 15].enumerated() {
            p.failed(ip: "192.0.2.7", user: "alice", password: "guess\(i)", now: t0)
            #expect(p.admit(ip: "192.0.2.7", now: t0)
                == .proceed(penaltyWait: .seconds(expected) - .seconds(2), failureDelay: .seconds(expected)))
        }
        // Another IP is not affected; a success resets this one.
        #expect(p.admit(ip: "192.0.2.8", now: t0) == fresh)
        p.succeeded(ip: "192.0.2.7", now: t0)
        #expect(p.admit(ip: "192.0.2.7", now: t0) == fresh)
    }

    @Test func theSameUserAndPasswordDoNotCountAgain() {
        let p = penalty()
        for _ in 0..<5 { p.failed(ip: "192.0.2.7", user: "alice", password: "old", now: t0) }
        #expect(p.admit(ip: "192.0.2.7", now: t0) == .proceed(penaltyWait: .seconds(2), failureDelay: .seconds(4)))
        p.failed(ip: "192.0.2.7", user: "bob", password: "old", now: t0)
        #expect(p.admit(ip: "192.0.2.7", now: t0) == .proceed(penaltyWait: .seconds(6), failureDelay: .seconds(8)))
    }

    @Test func aQuietIPIsForgiven() {
        let p = penalty()
        for i in 0..<3 { p.failed(ip: "192.0.2.7", user: "alice", password: "\(i)", now: t0) }
        #expect(p.admit(ip: "192.0.2.7", now: t0 + .seconds(29)) != fresh)
        #expect(p.admit(ip: "192.0.2.7", now: t0 + .seconds(30)) == fresh)
    }

    @Test func ipv6CountsPerPrefixAndMappedIPv4AsIPv4() {
        let p = penalty()
        p.failed(ip: "2001:db8:1:2::5", user: "a", password: "x", now: t0)
        #expect(p.admit(ip: "2001:db8:1:2:ffff::9", now: t0)
            == .proceed(penaltyWait: .seconds(2), failureDelay: .seconds(4)))
        #expect(p.admit(ip: "2001:db8:1:3::5", now: t0) == fresh)
        p.failed(ip: "::ffff:192.0.2.7", user: "a", password: "x", now: t0)
        #expect(p.admit(ip: "192.0.2.7", now: t0) == .proceed(penaltyWait: .seconds(2), failureDelay: .seconds(4)))
        #expect(p.key("2001:db8:1:2::5")?.description == "2001:db8:1:2:0:0:0:0/64")
    }

    @Test func trustedNetworksAndLocalRequestsAreExempt() {
        let p = penalty { $0.trustedNetworks = ["10.0.0.0/8", "2001:db8::/32"]; $0.banFailures = 1 }
        for ip in ["10.1.2.3", "2001:db8::1", ""] {
            for i in 0..<5 { #expect(p.failed(ip: ip, user: "u\(i)", password: "\(i)", now: t0) == nil) }
            #expect(p.admit(ip: ip, now: t0) == fresh)
        }
        #expect(p.count == 0)
    }

    @Test func tooManyFailuresInTheWindowBanOnceForTheBanTime() {
        let p = penalty { $0.banFailures = 3; $0.banWindow = .seconds(60); $0.banTime = .seconds(100) }
        // Spread out: the oldest leave the window before the count is exceeded.
        for i in 0..<6 {
            #expect(p.failed(ip: "192.0.2.7", user: "a", password: "\(i)", now: t0 + .seconds(40 * i)) == nil)
        }
        let later = t0 + .seconds(1000)
        for i in 0..<3 { #expect(p.failed(ip: "192.0.2.7", user: "a", password: "w\(i)", now: later) == nil) }
        let ban = p.failed(ip: "192.0.2.7", user: "a", password: "w3", now: later)
        #expect(ban == AuthPenalty.Ban(network: "192.0.2.7", duration: .seconds(100), reason: "4 failures in 60 secs"))
        #expect(p.admit(ip: "192.0.2.7", now: later + .seconds(99)) == .banned(delay: .seconds(2)))
        // Failures while banned (none are verified, but a racing one may land) start no second ban.
        #expect(p.failed(ip: "192.0.2.7", user: "a", password: "w4", now: later + .seconds(1)) == nil)
        #expect(p.admit(ip: "192.0.2.7", now: later + .seconds(100)) != .banned(delay: .seconds(2)))
        #expect(p.bansTotal == 1, "one ban, one count")
    }

    @Test func failuresForTooManyUsersBan() {
        let p = penalty { $0.banDistinctUsers = 3; $0.banFailures = 100 }
        for user in ["a", "b", "c"] {
            #expect(p.failed(ip: "192.0.2.9", user: user, password: "Spring2026", now: t0) == nil)
        }
        // The same user again is no new user.
        #expect(p.failed(ip: "192.0.2.9", user: "a", password: "Summer2026", now: t0) == nil)
        let ban = p.failed(ip: "192.0.2.9", user: "d", password: "Spring2026", now: t0)
        #expect(ban?.reason == "failures for 4 users in 600 secs")
        #expect(p.admit(ip: "192.0.2.9", now: t0) == .banned(delay: .seconds(2)))
    }

    @Test func theTableIsBoundedAndForgetsTheLeastRecentlySeen() {
        let p = penalty { $0.maxEntries = 100 }
        for i in 0..<1000 {
            p.failed(ip: "198.51.\(i / 256).\(i % 256)", user: "a", password: "x", now: t0 + .milliseconds(i))
        }
        #expect(p.count <= 100)
        #expect(p.admit(ip: "198.51.3.231", now: t0 + .seconds(1)) != fresh)
        #expect(p.admit(ip: "198.51.0.0", now: t0 + .seconds(1)) == fresh)
    }

    @Test func aUserFailingFromManyIPsIsDelayedExceptWhereTheyLoggedInBefore() {
        let p = penalty()
        p.succeeded(ip: "198.51.100.1", user: "carol", now: t0)
        for i in 1...3 { p.failed(ip: "203.0.113.\(i)", user: "carol", password: "guess\(i)", now: t0) }
        // A fourth address, with no failure of its own, waits for carol's penalty.
        #expect(p.admit(ip: "203.0.113.9", user: "carol", now: t0)
            == .proceed(penaltyWait: .seconds(13), failureDelay: .seconds(15)))
        #expect(p.admit(ip: "203.0.113.9", user: "dave", now: t0) == fresh)
        // Where carol logged in before she is not slowed, and her typos there do not count against her name.
        #expect(p.admit(ip: "198.51.100.1", user: "carol", now: t0) == fresh)
        p.failed(ip: "198.51.100.1", user: "carol", password: "typo", now: t0)
        #expect(p.admit(ip: "203.0.113.9", user: "carol", now: t0 + .seconds(29))
            == .proceed(penaltyWait: .seconds(13), failureDelay: .seconds(15)))
        // Forgiven after a quiet spell, like an IP.
        #expect(p.admit(ip: "203.0.113.9", user: "carol", now: t0 + .seconds(30))
            == fresh)
        #expect(p.userCount == 1)
    }

    @Test func remainingDelayIsMeasuredFromTheRequestStart() {
        #expect(AuthService.remainingDelay(start: t0, now: t0 + .milliseconds(300), delay: .seconds(2))
            == .milliseconds(1700))
        #expect(AuthService.remainingDelay(start: t0, now: t0 + .seconds(3), delay: .seconds(2)) == .zero)
    }
}

/// The service with a fake clock: failures are answered at start + delay whatever the verification cost.
@Suite struct AuthServiceTimingTests {
    final class FakeClock: Sendable {
        let state: Mutex<(now: ContinuousClock.Instant, slept: [Duration])>
        init() { state = Mutex((ContinuousClock.now, [])) }
        var clock: AuthClock {
            AuthClock(
                now: { self.state.withLock { $0.now } },
                sleep: { d in self.state.withLock { $0.slept.append(d); $0.now += d } })
        }
        func advance(_ d: Duration) { state.withLock { $0.now += d } }
        var slept: [Duration] { state.withLock { $0.slept } }
    }

    func withService(
        _ configure: (inout AuthServiceConfiguration) -> Void = { _ in },
        _ body: (AuthService, FakeClock, CollectingLog) async throws -> Void
    ) async throws {
        let dir = makeTempDirectory("penalty")
        defer { removeTree(dir) }
        let hash = try PasswordSchemes.hash(password: "right", scheme: "SHA512-CRYPT")
        try "alice:\(hash):1000:1000::/home/alice\n".write(toFile: dir + "/users", atomically: false, encoding: .utf8)
        var configuration = AuthServiceConfiguration(passdbs: [PassDBSpec(name: "main", path: dir + "/users")])
        configuration.penalty = AuthPenaltySettings(failureDelay: .seconds(2), banFailures: 3)
        configure(&configuration)
        let clock = FakeClock()
        let log = CollectingLog()
        let pool = PasswordHashingPool(threads: 1, maxQueued: 16)
        let service = try AuthService(
            configuration: configuration, log: log, pool: pool, files: nil, clock: clock.clock)
        try await body(service, clock, log)
        await pool.shutdown()
    }

    func request(_ user: String, _ password: String, ip: String = "192.0.2.7", service: String = "imap")
        -> AuthRequest
    {
        AuthRequest(user: user, password: password, service: service, remoteIP: ip)
    }

    @Test func failuresWaitTheRestOfTheDelayAndTheIPsPenaltyFirst() async throws {
        try await withService { service, clock, _ in
            #expect(await service.authenticate(request("ghost", "x")) == .failure(.unknownUser))
            #expect(clock.slept == [.seconds(2)])
            #expect(await service.authenticate(request("alice", "wrong")) == .failure(.passwordMismatch))
            // 2 s of penalty before verifying, then the rest of 4 s after the request started.
            #expect(clock.slept == [.seconds(2), .seconds(2), .seconds(2)])
            #expect(await service.authenticate(request("alice", "right")) != .failure(.passwordMismatch))
            #expect(clock.slept.count == 4)  // the success waited its penalty (8 - 2 s), then was answered at once
            #expect(clock.slept.last == .seconds(6))
            #expect(await service.authenticate(request("alice", "wrong2")) == .failure(.passwordMismatch))
            #expect(clock.slept.last == .seconds(2))
        }
    }

    @Test func aProtocolsOwnFailureDelayApplies() async throws {
        try await withService({ $0.failureDelays["pop3"] = .milliseconds(300) }) { service, clock, _ in
            _ = await service.authenticate(request("ghost", "x", service: "pop3"))
            #expect(clock.slept == [.milliseconds(300)])
        }
    }

    @Test func aBanIsLoggedOnceAndRefusesWithoutVerifying() async throws {
        try await withService { service, _, log in
            for i in 0..<4 { _ = await service.authenticate(request("u\(i)", "p\(i)", ip: "203.0.113.5")) }
            let bans = log.lines.filter { $0.message.contains("banning") }
            #expect(bans.map(\.message) == [
                "penalty(u3,203.0.113.5): Invalid credentials: banning 203.0.113.5 for 3600 secs "
                    + "(4 failures in 600 secs)"
            ])
            let before = log.lines.count
            #expect(await service.authenticate(request("alice", "right", ip: "203.0.113.5")) == .failure(.denied))
            #expect(log.lines.count == before)  // not verified, not logged again
            #expect(await service.authenticate(request("alice", "right", ip: "203.0.113.6")) != .failure(.denied))
        }
    }
}

@Suite struct AuthPenaltyAdminTests {
    @Test func adminRequestsAndRepliesRoundTrip() throws {
        let request = AuthWire.Request.admin(id: 7, arguments: ["penalty", "lift", "192.0.2.7"])
        var frames = AuthWire.FrameBuffer()
        frames.append(try AuthWire.encode(request))
        let requestPayload = try frames.next()
        #expect(try AuthWire.decodeRequest(try #require(requestPayload)) == request)
        frames.append(try AuthWire.encodeAdminReply(id: 7, ok: false, text: String(repeating: "é", count: 9000)))
        let replyPayload = try frames.next()
        let reply = try AuthWire.decodeAdminReply(try #require(replyPayload))
        #expect(reply.id == 7 && !reply.ok && reply.text.utf8.count <= AuthWire.maxString)
        #expect(throws: AuthWireError.tooLarge) {
            try AuthWire.encode(AuthWire.Request.admin(id: 1, arguments: Array(repeating: "x", count: AuthWire.maxAdminArguments + 1)))
        }
    }

    @Test func listLiftAndBanByHand() {
        let t0 = ContinuousClock.now
        let p = AuthPenalty(settings: AuthPenaltySettings(trustedNetworks: ["10.0.0.0/8"]))
        p.failed(ip: "192.0.2.7", user: "a", password: "x", now: t0)
        p.failed(ip: "203.0.113.1", user: "carol", password: "y", now: t0)
        #expect(p.ban(ip: "198.51.100.9", duration: .seconds(60), now: t0)?.network == "198.51.100.9")
        #expect(p.ban(ip: "10.1.1.1", duration: .seconds(60), now: t0) == nil)
        #expect(p.ban(ip: "not-an-ip", duration: .seconds(60), now: t0) == nil)
        #expect(p.stats == ["aerie_auth_bans_total 1", "aerie_auth_penalty_ips 3", "aerie_auth_penalty_users 2"])
        #expect(p.admit(ip: "198.51.100.9", now: t0 + .seconds(59)) == .banned(delay: .seconds(2)))
        #expect(Set(p.list(now: t0 + .seconds(1))) == [
            "ip 198.51.100.9 penalty=0 failures=0 users=0 banned=59s", "ip 203.0.113.1 penalty=1 failures=1 users=1",
            "ip 192.0.2.7 penalty=1 failures=1 users=1", "user a penalty=1 homes=0", "user carol penalty=1 homes=0",
        ])
        #expect(p.lift("198.51.100.9"))
        #expect(p.admit(ip: "198.51.100.9", now: t0 + .seconds(1)) == fresh)
        #expect(p.lift("carol"))
        #expect(!p.lift("carol"))
        #expect(!p.lift("198.51.100.9"))
        #expect(p.admit(ip: "198.51.100.10", user: "carol", now: t0) == fresh)
    }
}
