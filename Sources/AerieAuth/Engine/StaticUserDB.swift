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
