public import AerieLDAP

/// The `ldap` passdb and userdb of the auth engine. Every directory call blocks (network I/O bounded by the
/// connection's timeouts), so it runs on `LDAPWorkers`: a slow or hung directory never holds an event loop nor
/// the password-hashing threads. A directory that cannot answer is `.internalFailure` (a temporary failure to
/// the client), never a wrong password nor an unknown user.
/// Without a configured userdb, an `ldap` passdb doubles as the userdb (as passwd-file does): its mapped fields,
/// `userdb_` prefix stripped, from a search.
struct LDAPPassDB: PassDBDriver, UserDBDriver {
    let database: LDAPDatabase
    let workers: LDAPWorkers
    let context: AuthDriverContext

    /// `passdb_ldap_bind = yes`: the directory checks the password (the engine caches a salted hash of it).
    var verifiesPasswords: Bool { database.settings.bind }

    func lookup(_ request: AuthLookupRequest) async -> PassDBResult {
        if database.settings.bind && database.settings.filter.isEmpty {
            // Dovecot: with passdb_ldap_bind_userdn and no filter there is nothing to search without a password.
            context.error("ldap", request, "passdb lookup without a password needs passdb_ldap_filter")
            return .internalFailure
        }
        let database = self.database, user = request.user
        guard let found = await workers.run({ database.lookup(user: user) }) else { return .internalFailure }
        switch found {
        case .found(let dn, let fields, let disabled):
            context.debug("ldap", request, "lookup: found \(AuthLogFormat.sanitize(dn))")
            return .ok(Self.entry(fields, disabled: disabled))
        case .notFound:
            context.debug("ldap", request, "lookup: no entry matched the filter")
            return .userUnknown
        case .failure(let message):
            context.error("ldap", request, message)
            return .internalFailure
        }
    }

    func lookup(_ request: AuthLookupRequest) async -> UserDBResult {
        await LDAPUserDB(database: database, workers: workers, context: context).lookup(request)
    }

    /// - SeeAlso: RFC 4513 §5.1.2, §5.1.3 (an empty password is a mismatch, never an unauthenticated bind)
    func verifyPlain(_ request: AuthLookupRequest, password: String) async -> PassDBResult {
        let database = self.database, user = request.user
        guard let outcome = await workers.run({ database.bind(user: user, password: password) }) else {
            return .internalFailure
        }
        switch outcome {
        case .verified(let dn, let fields, let disabled):
            context.debug("ldap", request, "Password verified by binding as \(AuthLogFormat.sanitize(dn))")
            return .ok(Self.entry(fields, disabled: disabled))
        case .mismatch:
            return .passwordMismatch
        case .notFound:
            context.debug("ldap", request, "lookup: no entry matched the filter")
            return .userUnknown
        case .failure(let message):
            context.error("ldap", request, message)
            return .internalFailure
        }
    }

    /// The `password` field is the stored hash; every other mapped field is an extra field. A disabled AD
    /// account (`userAccountControl` bit 0x2) gets `nologin`, refused after a correct password like any `nologin`.
    static func entry(_ fields: [String: String], disabled: Bool) -> PassDBEntry {
        var extra = fields
        let password = extra.removeValue(forKey: "password")
        if disabled {
            extra["nologin"] = ""
            extra["reason"] = "userAccountControl=ACCOUNTDISABLE"
        }
        return PassDBEntry(password: password?.isEmpty == false ? password : nil, fields: extra)
    }
}

struct LDAPUserDB: UserDBDriver {
    let database: LDAPDatabase
    let workers: LDAPWorkers
    let context: AuthDriverContext

    func lookup(_ request: AuthLookupRequest) async -> UserDBResult {
        let database = self.database, user = request.user
        guard let found = await workers.run({ database.lookup(user: user) }) else { return .internalFailure }
        switch found {
        case .found(let dn, let fields, _):
            context.debug("ldap", request, "userdb lookup: found \(AuthLogFormat.sanitize(dn))")
            var out: [String: String] = [:]
            for (key, value) in fields { out[AuthFields.stripUserdbPrefix(key)] = value }
            return .ok(out)
        case .notFound:
            context.debug("ldap", request, "userdb lookup: no entry matched the filter")
            return .userUnknown
        case .failure(let message):
            context.error("ldap", request, message)
            return .internalFailure
        }
    }
}

extension LDAPUserDB: UserIterating {
    var canListUsers: Bool {
        !database.settings.iterateFilter.isEmpty && database.settings.iterateFields["user"] != nil
    }

    func listUsers(_ emit: @escaping @Sendable (String) async -> Bool) async -> Bool {
        let database = self.database
        let request = AuthLookupRequest(user: "", service: "adm", sessionID: "adm")
        switch await workers.run({ database.listUsers() }) {
        case .success(let names)?:
            for name in names {
                guard await emit(name) else { break }
            }
            return true
        case .failure(let error)?:
            context.error("ldap", request, "user listing: \(error.message)")
            return false
        case nil:
            context.error("ldap", request, "user listing: no LDAP thread free")
            return false
        }
    }
}

extension LDAPDatabase.Settings {
    /// `PassDBSpec.options` / `UserDBSpec.options` keys of a `fields { }` template: `fields:NAME`.
    public static let fieldPrefix = "fields:"
    /// The connection settings a section may take from the top level (`ldap_filter`, `ldap_bind` and
    /// `ldap_bind_userdn` are the section's own).
    public static let inheritedKeys = [
        "ldap_uris", "ldap_auth_dn", "ldap_auth_dn_password", "ldap_base", "ldap_starttls", "ldap_scope",
        "ldap_deref", "ssl_client_ca_file", "ssl_client_require_valid_cert",
    ]

    /// A driver spec's options: the section's `ldap_*` / `ssl_client_*` settings over the top-level ones, and the
    /// `fields { }` templates.
    public static func options(
        section: [String: String], fields: [String: String], global: (String) -> String?
    ) -> [String: String] {
        var options = section
        for key in inheritedKeys where options[key] == nil { options[key] = global(key) }
        for (name, template) in fields { options[fieldPrefix + name] = template }
        return options
    }

    /// The settings `options(section:fields:global:)` made.
    public init(options: [String: String], isPassdb: Bool) {
        func value(_ key: String) -> String { options[key] ?? "" }
        let uris = value("ldap_uris").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        let connection = LDAPConnectionSettings(
            uris: uris, authDN: value("ldap_auth_dn"), authPassword: value("ldap_auth_dn_password"),
            startTLS: value("ldap_starttls") == "yes", caFile: value("ssl_client_ca_file"),
            requireValidCertificate: value("ssl_client_require_valid_cert") != "no",
            scope: LDAPConnectionSettings.Scope(rawValue: value("ldap_scope")) ?? .subtree,
            deref: LDAPConnectionSettings.Deref(rawValue: value("ldap_deref")) ?? .never)
        var fields: [String: String] = [:], iterateFields: [String: String] = [:]
        for (key, template) in options where key.hasPrefix(Self.fieldPrefix) {
            let name = key.dropFirst(Self.fieldPrefix.count)
            // The config keeps a userdb's iterate_fields { } among its field templates as `iterate_fields/NAME`.
            if name.hasPrefix("iterate_fields/") {
                iterateFields[String(name.dropFirst("iterate_fields/".count))] = template
            } else {
                fields[String(name)] = template
            }
        }
        self.init(
            connection: connection, base: value("ldap_base"), filter: value("ldap_filter"),
            bind: isPassdb && value("ldap_bind") == "yes", bindUserDN: value("ldap_bind_userdn"), fields: fields,
            isPassdb: isPassdb)
        if !isPassdb {
            iterateFilter = value("ldap_iterate_filter")
            self.iterateFields = iterateFields
        }
    }
}

extension AuthDriverRegistry {
    /// The built-in drivers plus `ldap` (passdb and userdb), whose directory calls run on `workers`. What the auth
    /// process serves with and `aerie conf check` validates against.
    /// `workers` is evaluated when the first `ldap` driver is made (a server without LDAP starts no LDAP thread).
    public static func withLDAP(workers: @autoclosure @escaping @Sendable () -> LDAPWorkers) -> AuthDriverRegistry {
        var registry = AuthDriverRegistry.builtIn
        registry.passdbs["ldap"] = { spec, context in
            LDAPPassDB(database: try LDAPDatabase.make(spec.options, "passdb \(spec.name)", isPassdb: true),
                       workers: workers(), context: context)
        }
        registry.userdbs["ldap"] = { spec, context in
            LDAPUserDB(database: try LDAPDatabase.make(spec.options, "userdb \(spec.name)", isPassdb: false),
                       workers: workers(), context: context)
        }
        return registry
    }
}

extension LDAPDatabase {
    /// What `make` would refuse, for `aerie conf check` (which builds no driver).
    public static func check(options: [String: String], isPassdb: Bool) throws(ConfigurationError) {
        try validate(Settings(options: options, isPassdb: isPassdb))
    }

    /// Refuses what cannot work (no URI, a bad URI or template) at start, not at the first login.
    static func make(_ options: [String: String], _ what: String, isPassdb: Bool) throws -> LDAPDatabase {
        do { return try LDAPDatabase(settings: Settings(options: options, isPassdb: isPassdb)) } catch {
            throw AuthServiceError.invalidDriverSettings("\(what): \(error)")
        }
    }
}
