internal import AerieCore
internal import Logging
internal import Synchronization
internal import NIOSSL
internal import PostgresNIO

/// A Dovecot query with its `%{…}` variables turned into bound parameters (`$1`, `$2`, …): a value is never part
/// of the SQL text, so a user name such as `x' OR '1'='1` is only ever compared, never parsed.
/// A variable written alone inside quotes (`'%{user}'`, the 2.3 habit) becomes the bare parameter; one inside a
/// longer literal (`'%{user | username}@example.org'`) becomes a concatenation `('' || $1 || '@example.org')`.
struct SQLQueryTemplate: Sendable, Equatable {
    /// The SQL sent to the server, with `$N` placeholders.
    let sql: String
    /// The variable expression (`%{user | domain}`) each placeholder stands for, `$1` first.
    let parameters: [String]

    enum ParseError: Error, Equatable, CustomStringConvertible {
        case unterminatedVariable
        case unterminatedLiteral
        case invalidVariable(String)

        var description: String {
            switch self {
            case .unterminatedVariable: "a %{ without its closing }"
            case .unterminatedLiteral: "a quoted string without its closing quote"
            case .invalidVariable(let v): "unknown variable \(v)"
            }
        }
    }

    /// `extraVariables` are names allowed besides the login's (`password` in an `update_query`: the new hash).
    init(_ query: String, extraVariables: [String] = []) throws(ParseError) {
        var sql = ""
        var parameters: [String] = []
        let chars = Array(query)
        var i = 0

        func placeholder(_ expression: String) throws(ParseError) -> String {
            // Checked now with sample values: an unknown variable or filter is refused at start.
            let sample = AuthLookupRequest(user: "u@d", service: "imap")
            var variables = AuthFields.variables(sample, passdb: [:])
            for name in extraVariables { variables[name] = "x" }
            do {
                _ = try UserVariables.expand(expression, user: sample.user, variables: variables)
            } catch { throw .invalidVariable(expression) }
            if let index = parameters.firstIndex(of: expression) { return "$\(index + 1)" }
            parameters.append(expression)
            return "$\(parameters.count)"
        }
        /// Reads `%{…}` at `i` (which is at the `%`), leaving `i` after the `}`.
        func variable() throws(ParseError) -> String {
            var j = i + 2
            while j < chars.count, chars[j] != "}" { j += 1 }
            guard j < chars.count else { throw .unterminatedVariable }
            let expression = String(chars[i...j])
            i = j + 1
            return expression
        }

        while i < chars.count {
            let c = chars[i]
            if c == "%", i + 1 < chars.count, chars[i + 1] == "{" {
                sql += try placeholder(try variable())
            } else if c == "%", i + 1 < chars.count, chars[i + 1] == "%" {
                sql += "%"
                i += 2
            } else if c == "'" {
                // A literal: '' is a quote inside it.
                var pieces: [String] = []  // SQL fragments: quoted literals and placeholders
                var literal = ""
                var hasVariable = false
                i += 1
                var closed = false
                while i < chars.count {
                    let d = chars[i]
                    if d == "'" {
                        if i + 1 < chars.count, chars[i + 1] == "'" {
                            literal += "''"
                            i += 2
                            continue
                        }
                        i += 1
                        closed = true
                        break
                    }
                    if d == "%", i + 1 < chars.count, chars[i + 1] == "{" {
                        if !literal.isEmpty { pieces.append("'\(literal)'") }
                        literal = ""
                        pieces.append(try placeholder(try variable()))
                        hasVariable = true
                        continue
                    }
                    if d == "%", i + 1 < chars.count, chars[i + 1] == "%" {
                        literal += "%"
                        i += 2
                        continue
                    }
                    literal.append(d)
                    i += 1
                }
                guard closed else { throw .unterminatedLiteral }
                if !hasVariable {
                    sql += "'\(literal)'"
                } else {
                    if !literal.isEmpty { pieces.append("'\(literal)'") }
                    // A typed text parameter: `$1` alone compares as text; concatenation keeps text.
                    sql += pieces.count == 1 ? pieces[0] : "(" + pieces.joined(separator: " || ") + ")"
                }
            } else {
                sql.append(c)
                i += 1
            }
        }
        self.sql = sql
        self.parameters = parameters
    }

    /// The values bound to `$1`, `$2`, … for a login.
    func values(for request: AuthLookupRequest, extra: [String: String] = [:]) -> [String] {
        var variables = AuthFields.variables(request, passdb: [:])
        for (name, value) in extra { variables[name] = value }
        return parameters.map { (try? UserVariables.expand($0, user: request.user, variables: variables)) ?? "" }
    }
}

/// Why an `sql` passdb/userdb's settings cannot work.
public struct SQLConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// `sql_driver = pgsql` with `pgsql HOST { parameters { dbname = … user = … password = … } }`: the connection a
/// `sql` passdb/userdb uses. The options keys: `pgsql_host`, and `pgsql_parameter:NAME` for each parameter.
public struct SQLConnectionSettings: Sendable, Equatable {
    public static let parameterPrefix = "pgsql_parameter:"

    public var host = "localhost"
    public var port = 5432
    public var database: String?
    public var user = "dovecot"
    public var password: String?
    /// libpq's `sslmode`: disable, allow, prefer, require, verify-ca, verify-full.
    public var sslMode = "prefer"
    public var caFile = ""
    public var connectTimeout: Duration = .seconds(5)
    public var maxConnections = 5

    public init(options: [String: String]) throws(SQLConfigurationError) {
        func parameter(_ key: String) -> String? { options[Self.parameterPrefix + key] }
        if let host = parameter("host") ?? options["pgsql_host"], !host.isEmpty { self.host = host }
        if let port = parameter("port") {
            guard let number = Int(port), (1...65535).contains(number) else {
                throw SQLConfigurationError("pgsql parameter port: invalid value \(port)")
            }
            self.port = number
        }
        database = parameter("dbname")
        if let user = parameter("user") { self.user = user }
        password = parameter("password")
        if let mode = parameter("sslmode") {
            guard ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].contains(mode) else {
                throw SQLConfigurationError("pgsql parameter sslmode: invalid value \(mode)")
            }
            sslMode = mode
        }
        caFile = parameter("sslrootcert") ?? ""
        if sslMode.hasPrefix("verify"), caFile.isEmpty {
            throw SQLConfigurationError("pgsql sslmode=\(sslMode) needs sslrootcert (the CA file)")
        }
        if let timeout = parameter("connect_timeout") {
            guard let seconds = Int(timeout), seconds > 0 else {
                throw SQLConfigurationError("pgsql parameter connect_timeout: invalid value \(timeout)")
            }
            connectTimeout = .seconds(seconds)
        }
        if let max = parameter("maxconns") {
            guard let number = Int(max), (1...100).contains(number) else {
                throw SQLConfigurationError("pgsql parameter maxconns: invalid value \(max)")
            }
            maxConnections = number
        }
        let known: Set<String> = [
            "host", "port", "dbname", "user", "password", "sslmode", "sslrootcert", "connect_timeout", "maxconns",
        ]
        for key in options.keys where key.hasPrefix(Self.parameterPrefix) {
            let name = String(key.dropFirst(Self.parameterPrefix.count))
            guard known.contains(name) else {
                throw SQLConfigurationError("pgsql parameter \(name) is not supported (valid: \(known.sorted()))")
            }
        }
    }
}

/// One PostgreSQL connection pool, shared by the `sql` passdb and userdb of the same connection settings.
/// A database that is down or slow is `nil` (an internal failure, a temporary failure to the client), never a
/// wrong password; the pool reconnects by itself once the database is back.
final class SQLDatabase: Sendable {
    let settings: SQLConnectionSettings
    let client: PostgresClient
    /// postgres-nio's own log is dropped but for the last connection failure, which the driver's timeout error
    /// names (a refused connection, a rejected certificate or role); failures reach Aerie's log through the driver.
    let lastConnectionError = LastConnectionError()
    let logger: Logger

    init(settings: SQLConnectionSettings) throws {
        self.settings = settings
        let last = lastConnectionError
        logger = Logger(label: "aerie.sql", factory: { _ in last })
        let tls: PostgresClient.Configuration.TLS
        switch settings.sslMode {
        case "disable": tls = .disable
        case "allow", "prefer", "require":
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            tls = settings.sslMode == "require" ? .require(configuration) : .prefer(configuration)
        default:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .file(settings.caFile)
            configuration.certificateVerification =
                settings.sslMode == "verify-full" ? .fullVerification : .noHostnameVerification
            tls = .require(configuration)
        }
        var configuration: PostgresClient.Configuration
        if settings.host.hasPrefix("/") {
            configuration = .init(
                unixSocketPath: settings.host + "/.s.PGSQL.\(settings.port)", username: settings.user,
                password: settings.password, database: settings.database)
        } else {
            configuration = .init(
                host: settings.host, port: settings.port, username: settings.user, password: settings.password,
                database: settings.database, tls: tls)
        }
        configuration.options.connectTimeout = settings.connectTimeout
        configuration.options.maximumConnections = settings.maxConnections
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let client = self.client
        Task.detached { await client.run() }
    }

    enum Outcome: Sendable {
        case rows([[String: String]])
        case failure(String)
    }

    /// Runs `query` with `values` bound as text parameters; bounded by the connect timeout twice over (a lease
    /// waits while the pool reconnects).
    func run(_ query: SQLQueryTemplate, values: [String], limit: Int = 2) async -> Outcome {
        var bindings = PostgresBindings()
        for value in values { bindings.append(value) }
        let statement = PostgresQuery(unsafeSQL: query.sql, binds: bindings)
        let client = self.client, logger = self.logger
        let deadline = settings.connectTimeout * 2
        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                do {
                    var out: [[String: String]] = []
                    let rows = try await client.query(statement, logger: logger)
                    for try await row in rows {
                        var fields: [String: String] = [:]
                        for cell in row { if let value = Self.text(cell) { fields[cell.columnName] = value } }
                        out.append(fields)
                        if out.count >= limit { break }
                    }
                    return .rows(out)
                } catch let error as PSQLError {
                    return .failure("query failed: \(Self.describe(error))")
                } catch {
                    return .failure("query failed: \(String(describing: type(of: error)))")
                }
            }
            group.addTask {
                try? await Task.sleep(for: deadline)
                guard !Task.isCancelled else { return nil }
                let why = self.lastConnectionError.message.map { " (last connection error: \($0))" } ?? ""
                return .failure("no answer from the database within \(deadline)\(why)")
            }
            var result: Outcome = .failure("no answer from the database")
            for await outcome in group {
                if let outcome {
                    result = outcome
                    break
                }
            }
            group.cancelAll()
            if case .rows = result { self.lastConnectionError.clear() }
            return result
        }
    }

    /// A server error's message (never the bound values), or the kind of failure.
    static func describe(_ error: PSQLError) -> String {
        if let message = error.serverInfo?[.message] { return AuthLogFormat.sanitize(message) }
        return "\(error.code)"
    }

    /// A column's value as text; NULL is no field, and so is a column of a type that is neither text, a number
    /// nor a boolean (cast it in the query: `home::text`).
    static func text(_ cell: PostgresCell) -> String? {
        switch cell.dataType {
        case .int2, .int4, .int8, .oid:
            return (try? cell.decode(Int?.self)).map { String($0) }
        case .bool:
            return (try? cell.decode(Bool?.self)).map { $0 ? "yes" : "no" }
        case .float4, .float8:
            return (try? cell.decode(Double?.self)).map { String($0) }
        case .text, .varchar, .bpchar, .name, .unknown:
            return try? cell.decode(String?.self)
        default:
            return nil
        }
    }
}

/// Keeps the last connection failure postgres-nio logs (`psql_error`), bounded and sanitized; logs nothing.
final class LastConnectionError: LogHandler, Sendable {
    private let last = Mutex<String?>(nil)

    var message: String? { last.withLock { $0 } }

    /// After a query that worked: an older failure no longer explains anything.
    func clear() { last.withLock { $0 = nil } }

    func log(event: LogEvent) {
        guard event.level >= .info, let error = event.metadata?["psql_error"] else { return }
        last.withLock { $0 = Self.summary(String(describing: error)) }
    }

    /// The server's message when there is one (`message: pg_hba.conf rejects …`), else the error; one line, bounded.
    static func summary(_ description: String) -> String {
        var text = Substring(description)
        if let range = text.range(of: "message: ") { text = text[range.upperBound...] }
        return String(text.unicodeScalars.prefix(240).map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }

    var logLevel: Logger.Level {
        get { .info }
        set {}
    }
}

/// The `sql` passdb: `query` returns the `password` column (a `{SCHEME}` hash the engine verifies) and any other
/// column as an extra field (`user`, `nologin`, `allow_nets`, `userdb_*`, …). Without a configured userdb it
/// doubles as one (its `userdb_*` columns, prefix stripped).
struct SQLPassDB: PassDBDriver, UserDBDriver {
    let database: SQLDatabase
    let query: SQLQueryTemplate
    /// `update_query`: writes a rehashed password (`%{password}`), see `SQLDatabase.rehash`.
    var updateQuery: SQLQueryTemplate?
    let context: AuthDriverContext

    func lookup(_ request: AuthLookupRequest) async -> PassDBResult {
        switch await database.user(query, request, context: context, what: "") {
        case .found(var fields):
            let password = fields.removeValue(forKey: "password")
            return .ok(PassDBEntry(password: password?.isEmpty == false ? password : nil, fields: fields))
        case .unknown: return .userUnknown
        case .failed: return .internalFailure
        }
    }

    func lookup(_ request: AuthLookupRequest) async -> UserDBResult {
        switch await lookup(request) as PassDBResult {
        case .ok(let entry):
            var out: [String: String] = [:]
            for (key, value) in entry.fields where key.hasPrefix("userdb_") {
                out[AuthFields.stripUserdbPrefix(key)] = value
            }
            return .ok(out)
        case .userUnknown, .passwordMismatch, .next: return .userUnknown
        case .internalFailure: return .internalFailure
        }
    }
}

/// The `sql` userdb: `query` returns the user's fields (`uid`, `gid`, `home`, `mail`, …) by column name.
struct SQLUserDB: UserDBDriver {
    let database: SQLDatabase
    let query: SQLQueryTemplate
    /// `iterate_query`: lists the users (`user`, or `username` and `domain` columns) for `aerie adm user '*'`.
    var iterateQuery: SQLQueryTemplate?
    let context: AuthDriverContext

    func lookup(_ request: AuthLookupRequest) async -> UserDBResult {
        switch await database.user(query, request, context: context, what: "userdb ") {
        case .found(let row):
            var out: [String: String] = [:]
            for (key, value) in row { out[AuthFields.stripUserdbPrefix(key)] = value }
            return .ok(out)
        case .unknown: return .userUnknown
        case .failed: return .internalFailure
        }
    }
}

/// A query that names one user: its row, no row, or a failure (logged; more than one row is one too).
enum SQLUserRow {
    case found([String: String])
    case unknown
    case failed
}

extension SQLDatabase {
    /// Runs `query` for `request` and expects at most one row; `what` prefixes the log texts ("userdb ").
    func user(_ query: SQLQueryTemplate, _ request: AuthLookupRequest, context: AuthDriverContext, what: String)
        async -> SQLUserRow
    {
        switch await run(query, values: query.values(for: request)) {
        case .failure(let message):
            context.error("sql", request, message)
            return .failed
        case .rows(let rows):
            guard let row = rows.first else {
                context.debug("sql", request, what.isEmpty ? "unknown user" : "\(what.dropLast()): unknown user")
                return .unknown
            }
            guard rows.count == 1 else {
                context.error("sql", request, "\(what)query returned more than one row")
                return .failed
            }
            return .found(row)
        }
    }
}

/// One pool per connection settings, shared by every `sql` passdb/userdb that uses them.
final class SQLDatabases: Sendable {
    private let pools = Mutex<[SQLConnectionSettings: SQLDatabase]>([:])

    func database(_ settings: SQLConnectionSettings) throws -> SQLDatabase {
        try pools.withLock { pools in
            if let existing = pools[settings] { return existing }
            let database = try SQLDatabase(settings: settings)
            pools[settings] = database
            return database
        }
    }
}

extension SQLConnectionSettings: Hashable {}

extension AuthDriverRegistry {
    /// Adds the `sql` passdb and userdb (PostgreSQL).
    public mutating func addSQL() {
        let databases = SQLDatabases()
        passdbs["sql"] = { spec, context in
            let (database, query) = try SQLDriverOptions.make(spec.options, "passdb \(spec.name)", databases)
            let update = try SQLDriverOptions.optional(spec.options, "update_query", "passdb \(spec.name)")
            return SQLPassDB(database: database, query: query, updateQuery: update, context: context)
        }
        userdbs["sql"] = { spec, context in
            let (database, query) = try SQLDriverOptions.make(spec.options, "userdb \(spec.name)", databases)
            let iterate = try SQLDriverOptions.optional(spec.options, "iterate_query", "userdb \(spec.name)")
            return SQLUserDB(database: database, query: query, iterateQuery: iterate, context: context)
        }
    }
}

/// What an `sql` passdb/userdb's options must hold; checked at start and by `aerie conf check`.
public enum SQLDriverOptions {
    public static func check(options: [String: String]) throws(SQLConfigurationError) {
        if let driver = options["sql_driver"], driver != "pgsql" {
            throw SQLConfigurationError("sql_driver = \(driver): Aerie speaks to PostgreSQL only (sql_driver = pgsql)")
        }
        guard let query = options["query"], !query.isEmpty else {
            throw SQLConfigurationError("query is not set (the SQL that looks the user up)")
        }
        do { _ = try SQLQueryTemplate(query) } catch { throw SQLConfigurationError("query: \(error)") }
        for key in ["update_query", "iterate_query"] { _ = try template(options, key) }
        _ = try SQLConnectionSettings(options: options)
    }

    /// `update_query` (its `%{password}` is the new hash, and it must use it) or `iterate_query`; nil when unset.
    static func template(_ options: [String: String], _ key: String) throws(SQLConfigurationError)
        -> SQLQueryTemplate?
    {
        guard let text = options[key], !text.isEmpty else { return nil }
        let extra = key == "update_query" ? ["password"] : []
        let template: SQLQueryTemplate
        do { template = try SQLQueryTemplate(text, extraVariables: extra) } catch {
            throw SQLConfigurationError("\(key): \(error)")
        }
        if key == "update_query", !template.parameters.contains(where: { Self.names($0, "password") }) {
            throw SQLConfigurationError("update_query does not use %{password} (the new hash it writes)")
        }
        return template
    }

    /// Whether the `%{…}` expression reads variable `name` (`%{password}`, `%{password | lower}`).
    static func names(_ expression: String, _ name: String) -> Bool {
        let body = expression.dropFirst(2).dropLast()
        let head = body.split(separator: "|", omittingEmptySubsequences: false).first ?? ""
        return head.filter { $0 != " " && $0 != "\t" } == name
    }

    static func optional(_ options: [String: String], _ key: String, _ what: String) throws -> SQLQueryTemplate? {
        do { return try template(options, key) } catch {
            throw AuthServiceError.invalidDriverSettings("\(what): \(error)")
        }
    }

    static func make(
        _ options: [String: String], _ what: String, _ databases: SQLDatabases
    ) throws -> (SQLDatabase, SQLQueryTemplate) {
        do {
            try check(options: options)
            let query = try SQLQueryTemplate(options["query"] ?? "")
            return (try databases.database(try SQLConnectionSettings(options: options)), query)
        } catch {
            throw AuthServiceError.invalidDriverSettings("\(what): \(error)")
        }
    }
}
