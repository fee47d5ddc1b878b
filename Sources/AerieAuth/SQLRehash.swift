internal import Logging
internal import NIOCore
internal import PostgresNIO
internal import Synchronization

/// Writing a rehashed password through `update_query`, and listing users through `iterate_query`.
extension SQLDatabase {
    /// Runs `body` but answers `timedOut` after twice the connect timeout (a lease waits while the pool
    /// reconnects). The body is cancelled then and may finish later on its own: a login never waits past the
    /// deadline for a query that ignores cancellation (futures do).
    func withDeadline<T: Sendable>(
        _ timedOut: @escaping @Sendable (String) -> T, _ body: @escaping @Sendable () async -> T
    ) async -> T {
        let deadline = settings.connectTimeout * 2
        return await Self.firstOf(deadline: deadline, body) { [lastConnectionError] in
            let why = lastConnectionError.message.map { " (last connection error: \($0))" } ?? ""
            return timedOut("no answer from the database within \(deadline)\(why)")
        }
    }

    /// `body`'s value, or `timedOut()` once `deadline` has passed. The deadline's answer is given before the body is
    /// cancelled, so a body that ends at once on cancellation (with a "cancelled" failure) never overtakes it.
    static func firstOf<T: Sendable>(
        deadline: Duration, _ body: @escaping @Sendable () async -> T, timedOut: @escaping @Sendable () -> T
    ) async -> T {
        let answer = FirstAnswer<T>()
        return await withCheckedContinuation { continuation in
            answer.set(continuation)
            let work = Task {
                let value = await body()
                answer.resume(value)
            }
            let timer = Task {
                try? await Task.sleep(for: deadline)
                guard !Task.isCancelled else { return }
                answer.resume(timedOut())
                work.cancel()
            }
            answer.onResume { timer.cancel() }
        }
    }

    /// Replaces the user's hash `expected` by `replacement` with `update` (`%{password}` = `replacement`), in one
    /// REPEATABLE READ transaction: the passdb `lookup` query runs again first and the row must still hold
    /// `expected` (else `.changed`); a concurrent change to the row makes the UPDATE fail to serialize (also
    /// `.changed`, as is a row locked past the connect timeout); the UPDATE must change exactly one row, else it is rolled back (a query that would rewrite
    /// other users' passwords is a configuration error, `.failed`).
    func rehash(
        lookup: SQLQueryTemplate, update: SQLQueryTemplate, request: AuthLookupRequest, expected: String,
        replacement: String
    ) async -> PasswdFileRehash.Outcome {
        func bind(_ values: [String]) -> PostgresBindings {
            var bindings = PostgresBindings()
            for value in values { bindings.append(value) }
            return bindings
        }
        let select = PostgresQuery(unsafeSQL: lookup.sql, binds: bind(lookup.values(for: request)))
        let write = PostgresQuery(
            unsafeSQL: update.sql, binds: bind(update.values(for: request, extra: ["password": replacement])))
        let client = self.client, logger = self.logger
        // A row another transaction holds locked is not waited for past the connect timeout (55P03).
        let lockTimeout = PostgresQuery(
            unsafeSQL: "SET LOCAL lock_timeout = '\(settings.connectTimeout.components.seconds)s'")
        return await withDeadline({ .failed($0) }) {
            do {
                return try await client.withConnection { connection in
                    _ = try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ", logger: logger).get()
                    _ = try await connection.query(lockTimeout, logger: logger).get()
                    do {
                        let outcome = try await Self.compareAndWrite(connection, select, write, expected, logger)
                        let end: PostgresQuery = outcome == .replaced ? "COMMIT" : "ROLLBACK"
                        _ = try await connection.query(end, logger: logger).get()
                        return outcome
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger).get()
                        throw error
                    }
                }
            } catch let error as PSQLError {
                // 40001: the row changed since the transaction's snapshot (another writer got there first).
                // 55P03: another transaction holds the row (an admin writing it): leave it to them.
                if ["40001", "55P03"].contains(error.serverInfo?[.sqlState]) { return .changed }
                return .failed("update_query failed: \(Self.describe(error))")
            } catch {
                return .failed("update_query failed: \(String(describing: type(of: error)))")
            }
        }
    }

    private static func compareAndWrite(
        _ connection: PostgresConnection, _ select: PostgresQuery, _ write: PostgresQuery, _ expected: String,
        _ logger: Logger
    ) async throws -> PasswdFileRehash.Outcome {
        let current = try await connection.query(select, logger: logger).get()
        guard current.rows.count == 1,
            let stored = current.rows[0].first(where: { $0.columnName == "password" }).flatMap(Self.text),
            stored == expected
        else { return .changed }
        let result = try await connection.query(write, logger: logger).get()
        let changed = result.metadata.rows ?? 0
        guard changed == 1 else {
            return .failed("update_query changed \(changed) rows, not only the user's: rolled back")
        }
        return .replaced
    }

    /// Runs `query` and calls `emit` with each row's user name (`user`, or `username` with `domain`) until it
    /// returns false; nil when done, else why it failed. Rows stream with back-pressure, so memory stays bounded.
    func iterate(
        _ query: SQLQueryTemplate, request: AuthLookupRequest, emit: @escaping @Sendable (String) async -> Bool
    ) async -> String? {
        var bindings = PostgresBindings()
        for value in query.values(for: request) { bindings.append(value) }
        let statement = PostgresQuery(unsafeSQL: query.sql, binds: bindings)
        let client = self.client, logger = self.logger
        // The deadline covers the start of the answer; streaming then goes at the admin client's pace.
        let started: Result<PostgresRowSequence, SQLIterationError> = await withDeadline({ .failure(.init($0)) }) {
            do { return .success(try await client.query(statement, logger: logger)) } catch let error as PSQLError {
                return .failure(.init("iterate_query failed: \(Self.describe(error))"))
            } catch {
                return .failure(.init("iterate_query failed: \(String(describing: type(of: error)))"))
            }
        }
        let rows: PostgresRowSequence
        switch started {
        case .success(let sequence): rows = sequence
        case .failure(let error): return error.message
        }
        do {
            for try await row in rows {
                var fields: [String: String] = [:]
                for cell in row { if let value = Self.text(cell) { fields[cell.columnName] = value } }
                guard let name = Self.userName(fields) else {
                    return "iterate_query returned no user column (nor username)"
                }
                if !(await emit(name)) { break }
            }
        } catch let error as PSQLError {
            return "iterate_query failed: \(Self.describe(error))"
        } catch {
            return "iterate_query failed: \(String(describing: type(of: error)))"
        }
        return nil
    }

    /// Dovecot's rule: the `user` column, else `username` joined to `domain` when that column is there.
    static func userName(_ fields: [String: String]) -> String? {
        if let user = fields["user"] { return user }
        guard let name = fields["username"] else { return nil }
        if let domain = fields["domain"] { return name + "@" + domain }
        return name
    }
}

/// Resumes a continuation once, with whichever answer comes first.
final class FirstAnswer<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, Never>?
        var done = false
        var onResume: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func set(_ continuation: CheckedContinuation<T, Never>) { state.withLock { $0.continuation = continuation } }

    /// Runs `action` when the answer is given (at once if it already was).
    func onResume(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state in
            if state.done { return true }
            state.onResume = action
            return false
        }
        if now { action() }
    }

    func resume(_ value: T) {
        let (continuation, action) = state.withLock { state in
            guard !state.done else { return (CheckedContinuation<T, Never>?.none, (@Sendable () -> Void)?.none) }
            state.done = true
            defer { state.continuation = nil }
            return (state.continuation, state.onResume)
        }
        continuation?.resume(returning: value)
        action?()
    }
}

struct SQLIterationError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension SQLUserDB: UserIterating {
    var canListUsers: Bool { iterateQuery != nil }

    func listUsers(_ emit: @escaping @Sendable (String) async -> Bool) async -> Bool {
        guard let iterateQuery else { return false }
        let request = AuthLookupRequest(user: "", service: "adm", sessionID: "adm")
        if let message = await database.iterate(iterateQuery, request: request, emit: emit) {
            context.error("sql", request, "user listing: \(message)")
            return false
        }
        return true
    }
}
