import Foundation
import Synchronization
import Testing

@testable import AerieServer

/// Issue 14, item 3: the mail pool shares its permits fairly between users, and a job waiting for a slow client
/// holds no permit. Jobs here wait on semaphores the test opens, so nothing depends on the machine's speed.
@Suite struct FairMailPoolTests {
    /// A job that says when it started and runs until released.
    final class Gate: Sendable {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
    }

    /// The order jobs ran in.
    final class Order: Sendable {
        private let names = Mutex<[String]>([])
        func append(_ name: String) { names.withLock { $0.append(name) } }
        var all: [String] { names.withLock { $0 } }
    }

    static func hold(_ pool: FairMailPool, user: String, _ gate: Gate, order: Order, name: String) {
        pool.submit(user: user) {
            order.append(name)
            gate.started.signal()
            gate.release.wait()
        }
    }

    @Test func oneUserCannotTakeEveryPermit() {
        let pool = FairMailPool(permits: 2)
        #expect(pool.perUserPermits == 1)
        let order = Order()
        let gates = (0..<4).map { _ in Gate() }
        for (n, gate) in gates.prefix(3).enumerated() {
            Self.hold(pool, user: "alice", gate, order: order, name: "alice\(n)")
        }
        gates[0].started.wait()
        Self.hold(pool, user: "bob", gates[3], order: order, name: "bob")
        // bob starts while alice's first job still runs and her two others wait.
        #expect(gates[3].started.wait(timeout: .now() + 30) == .success)
        #expect(order.all == ["alice0", "bob"])
        for gate in gates { gate.release.signal() }
        for gate in gates[1...2] { gate.started.wait() }
        #expect(order.all == ["alice0", "bob", "alice1", "alice2"])
    }

    @Test func usersTakeTurns() {
        let pool = FairMailPool(permits: 1)
        let order = Order()
        let first = Gate()
        Self.hold(pool, user: "alice", first, order: order, name: "a0")
        first.started.wait()
        let done = DispatchSemaphore(value: 0)
        for (user, name) in [("alice", "a1"), ("alice", "a2"), ("bob", "b1"), ("carol", "c1"), ("bob", "b2")] {
            pool.submit(user: user) {
                order.append(name)
                done.signal()
            }
        }
        first.release.signal()
        for _ in 0..<5 { done.wait() }
        // Round robin: each user's next job after every other waiting user's, not first come first served.
        #expect(order.all == ["a0", "a1", "b1", "c1", "a2", "b2"])
    }

    @Test func aJobWaitingForItsClientHoldsNoPermit() {
        let pool = FairMailPool(permits: 1)
        let order = Order()
        let stalled = Gate()
        pool.submit(user: "alice") {
            pool.whileBlocked(user: "alice") {
                stalled.started.signal()
                stalled.release.wait()  // the client does not read
            }
            order.append("alice wrote")
        }
        stalled.started.wait()
        let others = DispatchSemaphore(value: 0)
        for user in ["alice", "bob"] {
            pool.submit(user: user) {
                order.append(user)
                others.signal()
            }
        }
        // Both run although the only permit's first holder is still stalled: the same user's other connection too.
        #expect(others.wait(timeout: .now() + 30) == .success)
        #expect(others.wait(timeout: .now() + 30) == .success)
        stalled.release.signal()
        while order.all.count < 3 { usleep(1000) }
        #expect(Set(order.all.prefix(2)) == ["alice", "bob"])
        #expect(order.all.last == "alice wrote")
        #expect(pool.snapshot.threads >= 2)
    }

    @Test func extraThreadsEndAfterAQuietSpell() async {
        let pool = FairMailPool(permits: 1, idleThreadLifetime: 0.05)
        let stalled = Gate()
        pool.submit(user: "alice") {
            pool.whileBlocked(user: "alice") {
                stalled.started.signal()
                stalled.release.wait()
            }
        }
        stalled.started.wait()
        let done = DispatchSemaphore(value: 0)
        pool.submit(user: "bob") { done.signal() }
        done.wait()
        #expect(pool.snapshot.threads == 2)
        stalled.release.signal()
        var waited = 0
        while pool.snapshot.threads > 1 && waited < 3000 {
            try? await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(pool.snapshot.threads == 1)
        await pool.shutdown()
        #expect(pool.snapshot.threads == 0)
    }
}

extension FairMailPoolTests {
    /// A thread back from a stalled write gets a permit before queued jobs, and the queued jobs still run on the
    /// other permit without waiting for a new submission.
    @Test func queuedJobsRunWhileAStalledWriterComesBack() {
        let pool = FairMailPool(permits: 2, perUserPermits: 2, idleThreadLifetime: 3600)
        let stalled = Gate()
        let back = DispatchSemaphore(value: 0)
        pool.submit(user: "alice") {
            pool.whileBlocked(user: "alice") {
                stalled.started.signal()
                stalled.release.wait()
            }
            back.signal()
        }
        stalled.started.wait()
        let done = DispatchSemaphore(value: 0)
        for n in 0..<20 { pool.submit(user: "u\(n % 3)") { done.signal() } }
        stalled.release.signal()
        #expect(back.wait(timeout: .now() + 30) == .success)
        for _ in 0..<20 { #expect(done.wait(timeout: .now() + 30) == .success) }
    }
}
