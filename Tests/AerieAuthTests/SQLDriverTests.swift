import Glibc
import AerieCore
@testable import AerieAuth
import AerieTestSupport
import Synchronization
import Testing

/// The `sql` passdb/userdb without a server: query → bound parameters, settings, a database that is down
/// (tests/integration/test_sql.py runs PostgreSQL).
@Suite struct SQLDriverTests {
    @Test func variablesBecomeBoundParameters() throws {
        let query = try SQLQueryTemplate(
            "SELECT password FROM users WHERE userid = '%{user | username}' AND domain = '%{user | domain}'")
        #expect(query.sql == "SELECT password FROM users WHERE userid = $1 AND domain = $2")
        #expect(query.parameters == ["%{user | username}", "%{user | domain}"])
        let request = AuthLookupRequest(user: "alice@example.org", service: "imap", remoteIP: "192.0.2.1")
        #expect(query.values(for: request) == ["alice", "example.org"])
    }

    @Test func unquotedAndRepeatedVariablesShareOneParameter() throws {
        let query = try SQLQueryTemplate(
            "SELECT 1 FROM u WHERE (a = %{user} OR b = '%{user}') AND ip <> %{remote_ip} AND x LIKE 'a%%'")
        #expect(query.sql == "SELECT 1 FROM u WHERE (a = $1 OR b = $1) AND ip <> $2 AND x LIKE 'a%'")
        let request = AuthLookupRequest(user: "bob", service: "pop3", remoteIP: "198.51.100.7")
        #expect(query.values(for: request) == ["bob", "198.51.100.7"])
    }

    /// A variable inside a longer literal is concatenated to it, never pasted into it.
    @Test func aVariableInsideALiteralIsConcatenated() throws {
        let query = try SQLQueryTemplate("SELECT '/srv/mail/%{user | domain}/x' AS home, 'it''s' AS q")
        #expect(query.sql == "SELECT ('/srv/mail/' || $1 || '/x') AS home, 'it''s' AS q")
    }

    /// Injection attempts stay values: the SQL text is the same whatever the user name.
    @Test(arguments: ["x' OR '1'='1", "a'; DROP TABLE users; --", "%{user}", "$1", "\\' OR 1=1 --"])
    func injectedUserNamesNeverReachTheSQLText(user: String) throws {
        let query = try SQLQueryTemplate("SELECT password FROM users WHERE name = '%{user}'")
        #expect(query.sql == "SELECT password FROM users WHERE name = $1")
        #expect(query.values(for: AuthLookupRequest(user: user, service: "imap")) == [user])
    }

    @Test func malformedQueriesAreRefused() {
        #expect(throws: SQLQueryTemplate.ParseError.unterminatedVariable) { try SQLQueryTemplate("SELECT %{user") }
        #expect(throws: SQLQueryTemplate.ParseError.unterminatedLiteral) { try SQLQueryTemplate("SELECT 'abc") }
        #expect(throws: SQLQueryTemplate.ParseError.invalidVariable("%{nosuch}")) {
            try SQLQueryTemplate("SELECT %{nosuch}")
        }
    }

    @Test func connectionSettings() throws {
        let p = SQLConnectionSettings.parameterPrefix
        let settings = try SQLConnectionSettings(options: [
            "pgsql_host": "db.example.org", p + "port": "6543", p + "dbname": "mail", p + "user": "dovecot",
            p + "password": "pw", p + "sslmode": "verify-full", p + "sslrootcert": "/etc/ssl/ca.pem",
        ])
        #expect(settings.host == "db.example.org" && settings.port == 6543 && settings.database == "mail")
        #expect(settings.sslMode == "verify-full" && settings.caFile == "/etc/ssl/ca.pem")
        #expect(throws: SQLConfigurationError.self) {
            try SQLConnectionSettings(options: [p + "sslmode": "verify-full"])
        }
        #expect(throws: SQLConfigurationError.self) { try SQLConnectionSettings(options: [p + "sslmode": "maybe"]) }
        #expect(throws: SQLConfigurationError.self) { try SQLConnectionSettings(options: [p + "port": "x"]) }
        #expect(throws: SQLConfigurationError.self) { try SQLConnectionSettings(options: [p + "hostaddr": "::1"]) }
        #expect(throws: SQLConfigurationError.self) { try SQLDriverOptions.check(options: [:]) }
        #expect(throws: SQLConfigurationError.self) {
            try SQLDriverOptions.check(options: ["sql_driver": "mysql", "query": "SELECT 1"])
        }
    }

    /// Nothing listens on loopback port 1: the database is down. Logins and userdb lookups are temporary
    /// failures, never a wrong password or an unknown user.
    @Test func aDatabaseThatIsDownIsATemporaryFailure() async throws {
        let p = SQLConnectionSettings.parameterPrefix
        let options = [
            "pgsql_host": "127.0.0.1", p + "port": "1", p + "connect_timeout": "1", p + "password": "db-Secret-7",
            "query": "SELECT password FROM users WHERE name = '%{user}'",
        ]
        var passdb = PassDBSpec(name: "sql", driver: "sql", path: "")
        passdb.options = options
        var userdb = UserDBSpec(name: "sql", driver: "sql", path: "")
        userdb.options = options
        var configuration = AuthServiceConfiguration(
            passdbs: [passdb], userdbs: [userdb], defaultUID: 1000, defaultGID: 1000)
        configuration.penalty.failureDelay = .zero
        var registry = AuthDriverRegistry.builtIn
        registry.addSQL()
        let log = CollectingLog()
        let pool = PasswordHashingPool(threads: 1)
        let auth = try AuthService(configuration: configuration, log: log, pool: pool, registry: registry)
        let result = await auth.authenticate(AuthRequest(user: "alice", password: "Alice-pw-1", remoteIP: "192.0.2.1"))
        #expect(result == .failure(.temporaryFailure))
        #expect(await auth.lookup("alice") == .failure(.temporaryFailure))
        let text = log.lines.map(\.message).joined(separator: "\n")
        #expect(text.contains("sql(alice,192.0.2.1)"), "\(text)")
        // The pool's retries hide the failure; the error names the last one.
        #expect(text.contains("last connection error") && text.contains("Connection refused"), "\(text)")
        #expect(!text.contains("db-Secret-7") && !text.contains("Alice-pw-1"))
        await pool.shutdown()
    }
}

/// `update_query` (rehash on login) and `iterate_query`: the new hash and the user are bound, never pasted.
@Suite struct SQLUpdateQueryTests {
    static let update = "UPDATE users SET password = '%{password}' WHERE userid = '%{user | username}'"

    @Test func theNewHashAndTheUserAreBoundParameters() throws {
        let query = try SQLQueryTemplate(Self.update, extraVariables: ["password"])
        #expect(query.sql == "UPDATE users SET password = $1 WHERE userid = $2")
        let hash = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA' OR '1'='1"
        let request = AuthLookupRequest(user: "a'b@example.org", service: "imap")
        #expect(query.values(for: request, extra: ["password": hash]) == [hash, "a'b"])
    }

    /// A lookup `query` may not name `%{password}`: the password a client typed is never sent to the database.
    @Test func theLookupQueryCannotBindThePassword() {
        #expect(throws: SQLQueryTemplate.ParseError.invalidVariable("%{password}")) {
            try SQLQueryTemplate("SELECT password FROM users WHERE userid = '%{user}' AND pw = '%{password}'")
        }
        #expect(throws: SQLConfigurationError.self) {
            try SQLDriverOptions.check(options: ["query": "SELECT 1 WHERE '%{password}' = ''"])
        }
    }

    @Test func updateAndIterateQueriesAreCheckedAtStart() throws {
        let lookup = "SELECT password FROM users WHERE userid = '%{user}'"
        try SQLDriverOptions.check(options: ["query": lookup, "update_query": Self.update])
        try SQLDriverOptions.check(options: ["query": lookup, "iterate_query": "SELECT userid AS user FROM users"])
        #expect(throws: SQLConfigurationError("update_query does not use %{password} (the new hash it writes)")) {
            try SQLDriverOptions.check(options: ["query": lookup, "update_query": "UPDATE users SET x = '%{user}'"])
        }
        #expect(throws: SQLConfigurationError.self) {
            try SQLDriverOptions.check(options: ["query": lookup, "update_query": "UPDATE u SET p = '%{nosuch}'"])
        }
        #expect(SQLDriverOptions.names("%{ password | lower }", "password"))
        #expect(!SQLDriverOptions.names("%{passwords}", "password"))
    }

    @Test func iteratedRowsNameTheUserAsDovecotDoes() {
        #expect(SQLDatabase.userName(["user": "a@b", "username": "x"]) == "a@b")
        #expect(SQLDatabase.userName(["username": "a", "domain": "b.org"]) == "a@b.org")
        #expect(SQLDatabase.userName(["username": "a"]) == "a")
        #expect(SQLDatabase.userName(["home": "/h"]) == nil)
    }
}

/// A database that accepts connections and never answers: a rehash or a listing gives up at the deadline.
@Suite struct SQLDeadlineTests {
    /// A loopback listener that never accepts (the kernel completes the handshake; nothing is ever said).
    static func silentListener() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        try #require(bound)
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Resumed once, by whoever comes first (`open` may come before `wait`).
    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))
        func wait() async {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    if state.open { return true }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        }
        func open() {
            let waiter = state.withLock { state in
                state.open = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    /// The flaky case: a query that ends at once on cancellation ("cancelled") used to answer before the deadline's
    /// own text, because the body was cancelled first. The canceller is held here so the body would win that race.
    @Test func theDeadlineAnswersBeforeTheCancelledBody() async {
        for _ in 0..<5 {
            let gate = Gate()
            let answer = await SQLDatabase.firstOf(
                deadline: .milliseconds(1),
                {
                    await withTaskCancellationHandler {
                        await gate.wait()
                        return "cancelled"
                    } onCancel: {
                        gate.open()
                        usleep(100_000)
                    }
                }, timedOut: { "deadline" })
            #expect(answer == "deadline")
        }
    }

    @Test func aBodyThatAnswersInTimeIsTheAnswer() async {
        #expect(await SQLDatabase.firstOf(deadline: .seconds(3600), { "rows" }, timedOut: { "deadline" }) == "rows")
    }

    @Test func aSilentDatabaseEndsARehashAndAListingAtTheDeadline() async throws {
        let (fd, port) = try Self.silentListener()
        defer { close(fd) }
        let p = SQLConnectionSettings.parameterPrefix
        let settings = try SQLConnectionSettings(options: [
            "pgsql_host": "127.0.0.1", p + "port": String(port), p + "connect_timeout": "1", p + "sslmode": "disable",
        ])
        let database = try SQLDatabase(settings: settings)
        let lookup = try SQLQueryTemplate("SELECT password FROM users WHERE userid = '%{user}'")
        let update = try SQLQueryTemplate(SQLUpdateQueryTests.update, extraVariables: ["password"])
        let outcome = await database.rehash(
            lookup: lookup, update: update, request: AuthLookupRequest(user: "alice", service: "imap"),
            expected: "{SHA512-CRYPT}$6$x", replacement: "{ARGON2ID}$argon2id$y")
        guard case .failed(let why) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        let deadline = "no answer from the database within \(Duration.seconds(2))"
        #expect(why.hasPrefix(deadline))
        let listing = await database.iterate(
            try SQLQueryTemplate("SELECT userid AS user FROM users"),
            request: AuthLookupRequest(user: "", service: "adm"), emit: { _ in true })
        // The deadline's own answer (not a connect or read error): it ended both, whatever the machine's speed (a
        // wall-clock bound here failed under load, with the test starved of the cooperative pool's 2 threads).
        #expect(listing?.hasPrefix(deadline) == true)
    }
}
