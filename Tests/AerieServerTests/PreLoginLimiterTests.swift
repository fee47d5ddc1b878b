import AerieCore
import Synchronization
import Testing

@testable import AerieServer

@Suite struct PreLoginLimiterTests {
    let t0 = ContinuousClock.now

    final class Dropped: Sendable {
        let names = Mutex<[String]>([])
        func hook(_ name: String) -> @Sendable () -> Void { { self.names.withLock { $0.append(name) } } }
        var all: [String] { names.withLock { $0 } }
    }

    func id(_ admission: PreLoginLimiter.Admission) -> UInt64? {
        if case .admitted(let id) = admission { return id }
        return nil
    }

    @Test func whenFullTheOldestIdleConnectionMakesRoom() {
        let limiter = PreLoginLimiter(settings: .init(limit: 3, perIP: 0, ratePerSecond: 0))
        let dropped = Dropped()
        let a = id(limiter.admit(ip: "192.0.2.1", now: t0, evict: dropped.hook("a")))
        let b = id(limiter.admit(ip: "192.0.2.1", now: t0, evict: dropped.hook("b")))
        _ = limiter.admit(ip: "192.0.2.1", now: t0, evict: dropped.hook("c"))
        limiter.setAuthenticating(a!, true)
        // a waits for its authentication answer: b, the oldest idle one, goes.
        #expect(id(limiter.admit(ip: "198.51.100.1", now: t0, evict: dropped.hook("d"))) != nil)
        #expect(dropped.all == ["b"])
        #expect(limiter.current == 3)
        limiter.release(b!)  // its close comes later: nothing more happens
        #expect(limiter.current == 3)
    }

    @Test func fullOfAuthenticatingConnectionsRefusesTheNewcomer() {
        let limiter = PreLoginLimiter(settings: .init(limit: 1, perIP: 0, ratePerSecond: 0))
        let a = id(limiter.admit(ip: "192.0.2.1", now: t0) {})!
        limiter.setAuthenticating(a, true)
        #expect(limiter.admit(ip: "192.0.2.2", now: t0) {} == .full)
        limiter.setAuthenticating(a, false)
        #expect(id(limiter.admit(ip: "192.0.2.2", now: t0) {}) != nil)
    }

    @Test func perIPLimitCountsIPv6PerPrefixAndExemptsTrustedAndNonIP() {
        let limiter = PreLoginLimiter(
            settings: .init(limit: 100, perIP: 2, ratePerSecond: 0, ipv6Prefix: 64, trusted: CIDRList(["10.0.0.0/8"])))
        #expect(id(limiter.admit(ip: "2001:db8::1", now: t0) {}) != nil)
        let second = id(limiter.admit(ip: "2001:db8::2", now: t0) {})
        #expect(second != nil)
        #expect(limiter.admit(ip: "2001:db8::ffff", now: t0) {} == .tooManyFromIP)
        #expect(id(limiter.admit(ip: "2001:db8:0:1::1", now: t0) {}) != nil, "another /64")
        limiter.release(second!)
        #expect(id(limiter.admit(ip: "2001:db8::3", now: t0) {}) != nil)
        for _ in 0..<5 { #expect(id(limiter.admit(ip: "10.1.2.3", now: t0) {}) != nil) }
        for _ in 0..<5 { #expect(id(limiter.admit(ip: "local", now: t0) {}) != nil) }
    }

    @Test func rateIsATokenBucketOfTwoSecondsAndLogsOncePerBurst() {
        let limiter = PreLoginLimiter(settings: .init(limit: 100, perIP: 0, ratePerSecond: 2))
        var results: [PreLoginLimiter.Admission] = []
        for _ in 0..<6 { results.append(limiter.admit(ip: "192.0.2.9", now: t0) {}) }
        #expect(results.prefix(4).allSatisfy { id($0) != nil })
        #expect(results[4] == .tooFast(first: true) && results[5] == .tooFast(first: false))
        #expect(id(limiter.admit(ip: "192.0.2.10", now: t0) {}) != nil, "another address has its own bucket")
        #expect(id(limiter.admit(ip: "192.0.2.9", now: t0 + .milliseconds(500)) {}) != nil, "one token a 500 ms")
        #expect(limiter.admit(ip: "192.0.2.9", now: t0 + .milliseconds(500)) {} == .tooFast(first: false))
        // Full again after a quiet while: a new burst, and its first refusal is logged again.
        for _ in 0..<4 { #expect(id(limiter.admit(ip: "192.0.2.9", now: t0 + .seconds(10)) {}) != nil) }
        #expect(limiter.admit(ip: "192.0.2.9", now: t0 + .seconds(10)) {} == .tooFast(first: true))
    }

    @Test func housekeepingForgetsQuietBucketsAndReportsTheEndOfABurst() {
        let limiter = PreLoginLimiter(settings: .init(limit: 1000, perIP: 0, ratePerSecond: 1000))
        let ids = (0..<300).compactMap { id(limiter.admit(ip: "192.0.2.\($0 % 250)", now: t0) {}) }
        #expect(limiter.tableSizes.buckets == 250)
        #expect(!limiter.housekeeping(now: t0), "the burst is still there")
        for id in ids.prefix(200) { limiter.release(id) }
        #expect(limiter.housekeeping(now: t0 + .seconds(1)), "two thirds gone")
        for id in ids.suffix(100).prefix(50) { limiter.release(id) }
        #expect(!limiter.housekeeping(now: t0 + .seconds(1)), "fewer than 64 more gone")
        for id in ids.suffix(50) { limiter.release(id) }
        #expect(limiter.housekeeping(now: t0 + .seconds(5)), "the rest gone")
        #expect(limiter.tableSizes.buckets == 0 && limiter.tableSizes.networks == 0)
        #expect(!limiter.housekeeping(now: t0 + .seconds(10)), "reported once")
    }

    @Test func settingsChangeForNewConnectionsOnly() {
        let limiter = PreLoginLimiter(settings: .init(limit: 2, perIP: 0, ratePerSecond: 0))
        _ = limiter.admit(ip: "192.0.2.1", now: t0) {}
        _ = limiter.admit(ip: "192.0.2.1", now: t0) {}
        limiter.settings.limit = 3
        #expect(limiter.current == 2)
        let dropped = Dropped()
        #expect(id(limiter.admit(ip: "192.0.2.1", now: t0, evict: dropped.hook("x"))) != nil && dropped.all.isEmpty)
    }
}
