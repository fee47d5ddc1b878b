internal import NIOPosix
import Synchronization

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A bounded set of threads for password hashing and passdb file reads, so argon2 (~0.1 s a try) never blocks an
/// event loop and a flood of logins queues a bounded amount of work instead of all of it.
public final class PasswordHashingPool: Sendable {
    private let pool: NIOThreadPool
    private let capacity: Int
    /// Jobs running or waiting; `run` refuses work past `capacity`.
    private let outstanding = Atomic<Int>(0)

    /// Online CPUs, as NIO's `System.coreCount` reports them.
    public static var defaultThreadCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// `threads` hash concurrently; up to `maxQueued` more wait; beyond that callers get nil at once.
    public init(threads: Int = PasswordHashingPool.defaultThreadCount, maxQueued: Int = 512) {
        let threads = max(1, threads)
        self.capacity = threads + max(0, maxQueued)
        self.pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    /// Verifies on a pool thread; nil when the queue is full or the pool is shut down (answer a temporary failure).
    public func verify(password: String, stored: String, defaultScheme: String, allowWeakSchemes: Bool) async
        -> PasswordCheck?
    {
        await run {
            PasswordSchemes.verify(
                password: password, stored: stored, defaultScheme: defaultScheme, allowWeakSchemes: allowWeakSchemes)
        }
    }

    /// Jobs admitted and not finished (tests wait for it instead of sleeping).
    var outstandingJobs: Int { outstanding.load(ordering: .relaxed) }

    /// Runs any blocking job (hashing, passdb file I/O) on a pool thread; nil when full or shut down.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T? {
        let admitted = outstanding.add(1, ordering: .relaxed).newValue <= capacity
        defer { outstanding.subtract(1, ordering: .relaxed) }
        guard admitted else { return nil }
        return try? await pool.runIfActive(body)
    }

    /// Finishes queued jobs, then stops the threads; later calls return nil.
    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
