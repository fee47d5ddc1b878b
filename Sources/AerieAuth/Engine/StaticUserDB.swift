/// `userdb static { fields { uid = vmail  gid = vmail  home = /srv/mail/%{user|domain}/%{user|username} } }`:
/// the same uid/gid and a home template for every virtual user. The engine expands the fields; a lookup without
/// a login (LMTP, `aerie adm user`) first asks the passdbs whether the user exists, unless
/// `userdb_static_allow_all_users = yes`.
struct StaticUserDB: UserDBDriver {
    let allowAllUsers: Bool

    init(spec: UserDBSpec, context: AuthDriverContext) throws {
        let value = spec.options["static_allow_all_users"] ?? spec.overrideFields["allow_all_users"] ?? "no"
        guard let allow = AuthFields.bool(value) else {
            throw AuthServiceError.invalidDriverSettings("userdb \(spec.name): static_allow_all_users = \(value)")
        }
        allowAllUsers = allow
    }

    func lookup(_ request: AuthLookupRequest) async -> UserDBResult { .ok([:]) }
}

/// `userdb prefetch { }`: the `userdb_*` fields the passdb already returned (e.g. from one LDAP search), so no
/// second lookup is needed; user unknown when the passdb returned none (a delivery, or a passdb without them), so
/// the next userdb answers.
struct PrefetchUserDB: UserDBDriver {
    func lookup(_ request: AuthLookupRequest) async -> UserDBResult { .userUnknown }

    /// What the engine answers for it, from the login's passdb fields.
    static func answer(_ passdbFields: [String: String]) -> UserDBResult {
        let fields = passdbFields.filter { $0.key.hasPrefix("userdb_") }
        guard !fields.isEmpty else { return .userUnknown }
        var out: [String: String] = [:]
        for (key, value) in fields { out[AuthFields.stripUserdbPrefix(key)] = value }
        return .ok(out)
    }
}
