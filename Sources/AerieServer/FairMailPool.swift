import Foundation
import NIOCore

/// Runs blocking mail work (disk, parsing, searching) off the event loops, fairly between users (issue 14, item 3).
///
/// - At most `permits` jobs work at once (about one per core): more would only share the same cores.
/// - One user holds at most `perUserPermits` of them. Their other jobs wait in the user's own queue while other users'
///   jobs go first, taken round robin; so eight connections of one user looping a body SEARCH leave a permit free for
///   everybody else, and another user's SELECT waits for no search to finish.
/// - A job that waits for a slow client (`whileBlocked`, e.g. a big FETCH whose reader stopped reading) gives its
///   permit back meanwhile: it holds a thread, never a permit. Threads are started when work is waiting and every
///   running thread is blocked, up to `maxThreads`; a thread idle for a while ends, so a burst's threads are given back.
final class FairMailPool: @unchecked Sendable {
    private struct Job {
        let key: String
        let work: () -> Void
    }

    let permits: Int
    let perUserPermits: Int
    let maxThreads: Int
    private let idleThreadLifetime: TimeInterval

    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var queues: [String: [Job]] = [:]
    /// Users with queued jobs, in the order they get their next turn.
    private var turns: [String] = []
    private var working: [String: Int] = [:]
    private var freePermits: Int
    private var threads = 0
    private var idleThreads = 0
    /// Threads back from `whileBlocked`, waiting for a permit: they go before new jobs.
    private var returningFromBlock = 0
    private var stopping = false
    private var threadsEnded: [() -> Void] = []

    init(permits: Int, perUserPermits: Int? = nil, maxThreads: Int = 256, idleThreadLifetime: TimeInterval = 30) {
        self.permits = max(1, permits)
        self.perUserPermits = max(1, min(self.permits, perUserPermits ?? max(1, permits / 2)))
        self.maxThreads = max(self.permits, maxThreads)
        self.idleThreadLifetime = idleThreadLifetime
        freePermits = self.permits
    }

    /// Runs `body` on a pool thread as `user`'s work; the future completes on `eventLoop`.
    func run<T: Sendable>(
        user: String, eventLoop: any EventLoop, _ body: @escaping @Sendable () throws -> T
    ) -> EventLoopFuture<T> {
        let promise = eventLoop.makePromise(of: T.self)
        submit(user: user) { promise.completeWith(Result { try body() }) }
        return promise.futureResult
    }

    /// Queues `work` as `user`'s; it runs even while the pool stops (already accepted work is finished).
    func submit(user: String, _ work: @escaping @Sendable () -> Void) {
        condition.lock()
        if queues[user, default: []].isEmpty { turns.append(user) }
        queues[user, default: []].append(Job(key: user, work: work))
        let wakeIdle = wakeOrStartThread(signalIdle: false)
        condition.unlock()
        // Signalled after unlocking: a thread woken while we still held the lock would only block on it again
        // (one more futex call and context switch per job). It re-checks for work in its loop, so nothing is lost.
        if wakeIdle { condition.signal() }
    }

    /// Runs `body` (a wait for a client to take our output) in a job of `user`'s without holding a permit or a
    /// share of the user's: a stalled reader holds up neither other users nor the same user's other connections.
    func whileBlocked<T>(user: String, _ body: () throws -> T) rethrows -> T {
        condition.lock()
        freePermits += 1
        finishedWork(of: user)
        wakeOrStartThread()
        condition.unlock()
        defer {
            condition.lock()
            returningFromBlock += 1
            while freePermits == 0 { condition.wait() }
            returningFromBlock -= 1
            freePermits -= 1
            working[user, default: 0] += 1
            // Workers left jobs waiting while this thread came back: a permit may still be free for them.
            wakeOrStartThread()
            condition.unlock()
        }
        return try body()
    }

    /// Finishes the queued work, then ends the threads.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            stopping = true
            if threads == 0 {
                condition.unlock()
                continuation.resume()
                return
            }
            threadsEnded.append { continuation.resume() }
            condition.broadcast()
            condition.unlock()
        }
    }

    /// What the pool is doing, for tests and metrics.
    var snapshot: (threads: Int, working: Int, queued: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (threads, permits - freePermits, queues.values.reduce(0) { $0 + $1.count })
    }

    // MARK: - Private (called with `condition` locked)

    /// With `signalIdle: false` an idle thread is not signalled here: true is returned for the caller to signal it
    /// once it has unlocked.
    @discardableResult
    private func wakeOrStartThread(signalIdle: Bool = true) -> Bool {
        if returningFromBlock > 0 && freePermits > 0 {
            condition.broadcast()
            return false
        }
        guard freePermits > 0, hasRunnableJob else { return false }
        if idleThreads > 0 {
            if !signalIdle { return true }
            condition.signal()
        } else if threads < maxThreads {
            threads += 1
            let thread = Thread { [self] in workerLoop() }
            thread.name = "mail-pool"
            thread.stackSize = 1 << 20
            thread.start()
        }
        return false
    }

    private func finishedWork(of user: String) {
        working[user, default: 1] -= 1
        if working[user] == 0 { working[user] = nil }
    }

    private var hasRunnableJob: Bool { turns.contains { working[$0, default: 0] < perUserPermits } }

    /// The next job in round-robin order among users below their share.
    private func takeJob() -> Job? {
        guard let index = turns.firstIndex(where: { working[$0, default: 0] < perUserPermits }) else { return nil }
        let user = turns.remove(at: index)
        var queue = queues[user]!
        let job = queue.removeFirst()
        if queue.isEmpty {
            queues[user] = nil
        } else {
            queues[user] = queue
            turns.append(user)
        }
        return job
    }

    private func workerLoop() {
        condition.lock()
        while true {
            if freePermits > 0, returningFromBlock == 0, let job = takeJob() {
                freePermits -= 1
                working[job.key, default: 0] += 1
                wakeOrStartThread()
                condition.unlock()
                job.work()
                condition.lock()
                freePermits += 1
                finishedWork(of: job.key)
                // This thread takes the next job itself; only threads back from `whileBlocked` need waking (all of
                // them wait on this condition, so a broadcast; there are few). Waking every idle thread after every
                // job would cost each job a crowd of context switches.
                if returningFromBlock > 0 { condition.broadcast() }
                continue
            }
            if stopping && queues.isEmpty { break }
            idleThreads += 1
            let signalled = condition.wait(until: Date(timeIntervalSinceNow: idleThreadLifetime))
            idleThreads -= 1
            // Threads beyond one per permit go away after a quiet spell; the pool keeps its core.
            if !signalled && threads > permits && !hasRunnableJob { break }
        }
        threads -= 1
        let ended = threads == 0 && stopping ? threadsEnded : []
        if threads == 0 { threadsEnded = [] }
        condition.unlock()
        for resume in ended { resume() }
    }
}
