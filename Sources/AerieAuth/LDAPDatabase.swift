public import AerieLDAP

/// An `ldap` passdb or userdb: Dovecot 2.4's `ldap_base`, `passdb_ldap_filter` / `userdb_ldap_filter`,
/// `passdb_ldap_bind`, `passdb_ldap_bind_userdn` and `fields { }` over a pooled libldap client. Every call
/// blocks (network I/O bounded by the connection's timeouts): run it on the hashing pool, never an event loop.
public struct LDAPListingError: Error, Sendable {
    public let message: String
}

public final class LDAPDatabase: Sendable {
    public struct Settings: Sendable {
        public var connection: LDAPConnectionSettings
        /// `ldap_base`; may hold user variables (escaped as DN values).
        public var base: String
        /// `passdb_ldap_filter` / `userdb_ldap_filter`; user variables are escaped per RFC 4515.
        public var filter: String
        /// `passdb_ldap_bind`: verify the password by binding as the user.
        public var bind: Bool
        /// `passdb_ldap_bind_userdn`: with `bind`, the user's DN from this template instead of a search.
        public var bindUserDN: String
        /// `fields { name = template }`; `password` holds the stored hash for lookup authentication.
        public var fields: [String: String]
        /// A passdb also reads AD's `userAccountControl` and refuses disabled accounts.
        public var isPassdb: Bool
        /// `userdb_ldap_iterate_filter`: the entries `aerie adm user -A` lists (empty: the userdb cannot list).
        public var iterateFilter = ""
        /// `iterate_fields { user = %{ldap:uid} }`: the `user` field names each listed entry.
        public var iterateFields: [String: String] = [:]

        public init(
            connection: LDAPConnectionSettings, base: String, filter: String, bind: Bool = false,
            bindUserDN: String = "", fields: [String: String] = [:], isPassdb: Bool = true
        ) {
            self.isPassdb = isPassdb
            self.connection = connection
            self.base = base
            self.filter = filter
            self.bind = bind
            self.bindUserDN = bindUserDN
            self.fields = fields
        }
    }

    public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
        case noURIs, noFilter, invalidTemplate(String), invalidURI(String)

        public var description: String {
            switch self {
            case .noURIs: "ldap_uris is empty"
            case .noFilter: "no ldap_filter (and no passdb_ldap_bind_userdn)"
            case .invalidTemplate(let template): "invalid template: \(template)"
            case .invalidURI(let uri): "ldap_uris: \(uri) is not an ldap://, ldaps:// or ldapi:// URI"
            }
        }
    }

    public let settings: Settings
    /// Searches, bound as `ldap_auth_dn`.
    private let searches: LDAPClient
    /// Users' binds only; never searches with the identity a user's bind left behind.
    private let binds: LDAPClient
    private let mapping: LDAPFieldMapping
    /// AD's account state, read with every passdb search (absent on other servers: then nothing happens).
    static let accountControl = "userAccountControl"

    public init(settings: Settings) throws(ConfigurationError) {
        try Self.validate(settings)
        self.settings = settings
        self.searches = LDAPClient(settings: settings.connection)
        var bindSettings = settings.connection
        bindSettings.authDN = ""
        bindSettings.authPassword = ""
        self.binds = LDAPClient(settings: bindSettings)
        self.mapping = LDAPFieldMapping(settings.fields)
    }

    static func validate(_ settings: Settings) throws(ConfigurationError) {
        guard !settings.connection.uris.isEmpty else { throw .noURIs }
        for uri in settings.connection.uris {
            let scheme = uri.lowercased().prefix { $0 != ":" }
            guard ["ldap", "ldaps", "ldapi"].contains(scheme), uri.dropFirst(scheme.count).hasPrefix("://") else {
                throw .invalidURI(uri)
            }
        }
        guard !settings.filter.isEmpty || (settings.bind && !settings.bindUserDN.isEmpty) else { throw .noFilter }
        for template in [settings.base, settings.filter, settings.bindUserDN] {
            do { try LDAPTemplate.validate(template, allowAttributes: false) } catch {
                throw .invalidTemplate(template)
            }
        }
        do { try LDAPTemplate.validate(settings.iterateFilter, allowAttributes: false) } catch {
            throw .invalidTemplate(settings.iterateFilter)
        }
        for template in Array(settings.fields.values) + Array(settings.iterateFields.values) {
            do { try LDAPTemplate.validate(template, allowAttributes: true) } catch {
                throw .invalidTemplate(template)
            }
        }
    }

    public enum Lookup: Sendable {
        /// The entry's DN and its mapped fields.
        case found(dn: String, fields: [String: String], disabled: Bool)
        case notFound
        /// The directory could not answer (down, timeout, TLS failure) or the answer was ambiguous.
        case failure(String)
    }

    /// Finds the one entry the filter selects for `user`; two or more is a failure (Dovecot: "Multiple replies").
    public func lookup(user: String) -> Lookup {
        let passdb = settings.isPassdb
        let base: String, filter: String
        do {
            base = try LDAPTemplate.expand(settings.base, user: user, escape: LDAPEscaping.dnValue)
            filter = try LDAPTemplate.expand(settings.filter, user: user, escape: LDAPEscaping.filterValue)
        } catch {
            return .failure("invalid template")
        }
        var attributes = mapping.attributeNames
        if passdb { attributes.append(Self.accountControl.lowercased()) }
        let entries: [LDAPEntry]
        do {
            entries = try searches.withConnection { connection throws(LDAPError) in
                try connection.search(base: base, filter: filter, attributes: attributes, sizeLimit: 2)
            }
        } catch {
            if error.code == 4 { return .failure("Multiple replies found for user") }  // sizeLimitExceeded
            if error.code == 32 { return .notFound }  // noSuchObject: the base does not exist (e.g. a domain)
            return .failure("LDAP search failed: \(error)")
        }
        guard let entry = entries.first else { return .notFound }
        guard entries.count == 1 else { return .failure("Multiple replies found for user") }
        var (fields, _) = mapping.map(entry, user: user)
        if passdb { fields = fields.filter { $0.key != "password" || !settings.bind } }
        let disabled = entry.first(Self.accountControl).map { ActiveDirectory.isDisabled(userAccountControl: $0) }
        return .found(dn: entry.dn, fields: fields, disabled: disabled ?? false)
    }

    /// Most entries one listing reads (a search's answer is held whole by libldap).
    static let maximumListedEntries: Int32 = 100_000

    /// The `user` field of every entry `iterateFilter` selects under the base (expanded for an empty user),
    /// Dovecot's userdb ldap iteration; an entry without the attribute is skipped.
    public func listUsers() -> Result<[String], LDAPListingError> {
        let base: String, filter: String
        do {
            base = try LDAPTemplate.expand(settings.base, user: "", escape: LDAPEscaping.dnValue)
            filter = try LDAPTemplate.expand(settings.iterateFilter, user: "", escape: LDAPEscaping.filterValue)
        } catch {
            return .failure(LDAPListingError(message: "invalid template"))
        }
        let mapping = LDAPFieldMapping(settings.iterateFields.filter { $0.key == "user" })
        let entries: [LDAPEntry]
        do {
            entries = try searches.withConnection { connection throws(LDAPError) in
                try connection.search(
                    base: base, filter: filter, attributes: mapping.attributeNames,
                    sizeLimit: Self.maximumListedEntries)
            }
        } catch {
            if error.code == 4 {
                return .failure(LDAPListingError(message: "more than \(Self.maximumListedEntries) entries"))
            }
            if error.code == 32 { return .success([]) }
            return .failure(LDAPListingError(message: "LDAP search failed: \(error)"))
        }
        return .success(entries.compactMap { mapping.map($0, user: "").fields["user"] })
    }

    public enum BindOutcome: Sendable {
        case verified(dn: String, fields: [String: String], disabled: Bool)
        case mismatch
        case notFound
        case failure(String)
    }

    /// `passdb_ldap_bind = yes`: the user's DN (from the template, else a search), then a simple bind with the
    /// given password on a connection used only for binds. An empty password is a mismatch without a bind.
    /// - SeeAlso: RFC 4513 §5.1.2, §5.1.3
    public func bind(user: String, password: String) -> BindOutcome {
        var dn: String, fields: [String: String] = [:], disabled = false
        if !settings.bindUserDN.isEmpty {
            do { dn = try LDAPTemplate.expand(settings.bindUserDN, user: user, escape: LDAPEscaping.dnValue) } catch {
                return .failure("invalid template")
            }
        } else {
            switch lookup(user: user) {
            case .found(let found, let mapped, let off): (dn, fields, disabled) = (found, mapped, off)
            case .notFound: return .notFound
            case .failure(let message): return .failure(message)
            }
        }
        guard !password.isEmpty else { return .mismatch }
        do {
            try binds.withConnection(rebind: false) { connection throws(LDAPError) in
                try connection.bind(dn: dn, password: password)
            }
        } catch {
            if error.isInvalidCredentials { return .mismatch }
            return .failure("LDAP bind failed: \(error)")
        }
        return .verified(dn: dn, fields: fields, disabled: disabled)
    }
}
