internal import Logging
internal import NIOCore
internal import PostgresNIO

/// Writing a rehashed password through `update_query`, and listing users through `iterate_query`.
extension SQLDatabase {
    /// Runs `body` but gives up after twice the connect timeout (a lease waits while the pool reconnects).
    func withDeadline<T: Sendable>(
        _ timedOut: @escaping @Sendable (String) -> T, _ body: @escaping @Sendable () async -> T
    ) async -> T {
        let deadline = settings.connectTimeout * 2
        return await withTaskGroup(of: T?.self) { group in
            group.addTask { await body() }
            group.addTask {
                try? await Task.sleep(for: deadline)
                guard !Task.isCancelled else { return nil }
                let why = self.lastConnectionError.message.map { " (last connection error: \($0))" } ?? ""
                return timedOut("no answer from the database within \(deadline)\(why)")
            }
            var result = timedOut("no answer from the database")
            for await outcome in group {
                if let outcome {
                    result = outcome
                    break
                }
            }
            group.cancelAll()
            return result
        }
    }

    /// Replaces the user's hash `expected` by `replacement` with `update` (`%{password}` = `replacement`), in one
    /// REPEATABLE READ transaction: the passdb `lookup` query runs again first and the row must still hold
    /// `expected` (else `.changed`); a concurrent change to the row makes the UPDATE fail to serialize (also
    /// `.changed`); the UPDATE must change exactly one row, else it is rolled back (a query that would rewrite
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
        return await withDeadline({ .failed($0) }) {
            do {
                return try await client.withConnection { connection in
                    _ = try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ", logger: logger).get()
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
                if error.serverInfo?[.sqlState] == "40001" { return .changed }
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
