import AerieLDAP

/// The `ldap` passdb/userdb in the passwd-file shaped flow: a directory entry becomes a `PasswdFileEntry` (the
/// `password` field as its hash, every other field an extra field), so the stages after it are shared.
extension AuthService {
    enum LDAPBindResult {
        case verified(PasswdFileEntry)
        case mismatch, notFound, failure
    }

    /// The user's entry; `.some(nil)` when the directory does not know the user, nil when it could not answer
    /// (logged as an error: the login gets a temporary failure, not a wrong-password answer).
    func ldapLookup(_ ldap: LDAPDatabase, _ name: String, _ request: AuthRequest, quiet: Bool) -> PasswdFileEntry?? {
        switch ldap.lookup(user: name) {
        case .found(let dn, let fields, let disabled):
            if !quiet { debug("ldap", name, request, "lookup: found \(AuthLogFormat.sanitize(dn))") }
            return .some(Self.ldapEntry(name, fields, disabled: disabled))
        case .notFound:
            if !quiet { debug("ldap", name, request, "lookup: no entry matched the filter") }
            return .some(nil)
        case .failure(let message):
            if !quiet { log.error(AuthLogFormat.category, "\(prefix("ldap", name, request)): \(message)") }
            return nil
        }
    }

    /// `passdb_ldap_bind = yes`: the directory verifies the password. Mismatches are logged as passwd-file's are.
    func ldapBind(_ ldap: LDAPDatabase, _ name: String, _ request: AuthRequest) -> LDAPBindResult {
        switch ldap.bind(user: name, password: request.password) {
        case .verified(let dn, let fields, let disabled):
            debug("ldap", name, request, "Password verified by binding as \(AuthLogFormat.sanitize(dn))")
            return .verified(Self.ldapEntry(name, fields, disabled: disabled))
        case .mismatch:
            fail("ldap", name, request, "Password mismatch")
            return .mismatch
        case .notFound:
            debug("ldap", name, request, "lookup: no entry matched the filter")
            return .notFound
        case .failure(let message):
            log.error(AuthLogFormat.category, "\(prefix("ldap", name, request)): \(message)")
            return .failure
        }
    }

    /// A disabled AD account (`userAccountControl` bit 0x2) gets `nologin`, refused after a correct password as
    /// a passwd-file `nologin` is.
    static func ldapEntry(_ name: String, _ fields: [String: String], disabled: Bool) -> PasswdFileEntry {
        var extra = fields
        let password = extra.removeValue(forKey: "password") ?? ""
        if disabled {
            extra["nologin"] = ""
            extra["reason"] = "userAccountControl=ACCOUNTDISABLE"
        }
        return PasswdFileEntry(user: name, password: password, extraFields: extra)
    }
}
