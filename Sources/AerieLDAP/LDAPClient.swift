internal import NIOPosix
import Synchronization

/// A small pool of LDAP connections to one directory. `withConnection` blocks: call it from a pool thread (the
/// auth hashing pool, or `LDAPWorkers`), never an event loop. A connection that failed with a connection problem
/// (server down, timeout) is dropped, and the operation is tried once more on a fresh one, so a restarted server
/// is reached again without waiting for a timer.
public final class LDAPClient: Sendable {
    public let settings: LDAPConnectionSettings
    private let idle = Mutex<[SendableConnection]>([])
    private let makeConnection: @Sendable (LDAPConnectionSettings) throws(LDAPError) -> LDAPConnection

    public convenience init(settings: LDAPConnectionSettings) {
        self.init(settings: settings, makeConnection: { settings throws(LDAPError) in
            try LDAPConnection(settings: settings)
        })
    }

    init(
        settings: LDAPConnectionSettings,
        makeConnection: @escaping @Sendable (LDAPConnectionSettings) throws(LDAPError) -> LDAPConnection
    ) {
        self.settings = settings
        self.makeConnection = makeConnection
    }

    /// Idle connections now (for tests and metrics).
    public var idleCount: Int { idle.withLock { $0.count } }

    /// Runs `body` on a connection that is open and bound as `ldap_auth_dn`; returns the connection to the pool
    /// afterwards unless it broke.
    /// `rebind: false` is for a pool used only for users' binds, where who it is bound as does not matter.
    public func withConnection<T>(rebind: Bool = true, _ body: (LDAPConnection) throws(LDAPError) -> T)
        throws(LDAPError) -> T
    {
        var attempt = 0
        while true {
            attempt += 1
            let (connection, reused) = try checkOut(fresh: attempt > 1)
            do throws(LDAPError) {
                if reused && rebind { try connection.rebindForSearch() }
                let result = try body(connection)
                checkIn(connection)
                return result
            } catch {
                // A broken connection is dropped. A reused one the server closed (it restarted) is retried once on
                // a fresh one, and the other idle ones, as old as it, are dropped too; a timeout is not retried, so
                // a hung server costs one timeout, not two.
                if error.isConnectionProblem {
                    if attempt < 2 && reused && error.isServerDown {
                        closeIdle()
                        continue
                    }
                    throw error
                }
                checkIn(connection)
                throw error
            }
        }
    }

    /// Drops every idle connection (e.g. at reload).
    public func closeIdle() {
        let closing = idle.withLock { connections in
            defer { connections.removeAll() }
            return connections
        }
        _ = closing  // unbound outside the lock when released
    }

    private func checkOut(fresh: Bool) throws(LDAPError) -> (LDAPConnection, reused: Bool) {
        if !fresh, let pooled = idle.withLock({ $0.popLast() }) { return (pooled.connection, true) }
        let connection = try makeConnection(settings)
        try connection.open()
        return (connection, false)
    }

    private func checkIn(_ connection: LDAPConnection) {
        let wrapped = SendableConnection(connection: connection)
        let dropped: SendableConnection? = idle.withLock { connections in
            guard connections.count < settings.poolSize else { return wrapped }
            connections.append(wrapped)
            return nil
        }
        _ = dropped  // closed (unbind) outside the lock when released
    }
}

/// A connection is used by one thread at a time: the pool hands it out and takes it back under a lock.
private struct SendableConnection: @unchecked Sendable {
    let connection: LDAPConnection
}

/// A dedicated, bounded set of threads for LDAP calls from async code, so a slow directory never blocks an event
/// loop nor the password-hashing threads.
public final class LDAPWorkers: Sendable {
    private let pool: NIOThreadPool

    public init(threads: Int = 4) {
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
    }

    /// Runs `body` with a pooled connection of `client` on an LDAP thread.
    public func run<T: Sendable>(
        _ client: LDAPClient, _ body: @escaping @Sendable (LDAPConnection) throws(LDAPError) -> T
    ) async throws -> T {
        try await pool.runIfActive {
            try client.withConnection { (connection) throws(LDAPError) -> T in try body(connection) }
        }
    }

    /// Runs blocking `body` (an `LDAPDatabase` search or bind) on an LDAP thread; nil once the pool is shut down.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T? {
        try? await pool.runIfActive(body)
    }

    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
