import AerieCore

/// The userdb half: after the passdbs accepted a login, or for a delivery lookup.
extension AuthService {
    /// Userdb lookup without a password (LMTP delivery, `aerie adm user`); nil when unknown or not permitted.
    public func lookupUser(_ user: String) async -> AuthenticatedUser? {
        guard case .success(let found) = await lookup(user) else { return nil }
        return found
    }

    /// Userdb lookup without a password; `.temporaryFailure` when a database could not answer, so LMTP answers
    /// 451 (retry later) rather than 550 (no such user). A static userdb first asks the passdbs whether the user
    /// exists, unless `static_allow_all_users`.
    public func lookup(_ user: String, service: String = "lookup") async -> AuthResult {
        let request = AuthRequest(user: user, password: "", service: service)
        let name: String
        do { name = try usernames.parse(user, allowMaster: false).user } catch {
            if case .invalid(let message) = error { fail("auth", formatUser(user), request, message) }
            return .failure(.unknownUser)
        }
        var state = ChainState(user: name, passwordVerified: true, checksLoginFields: false)
        let list = userdbs(serving: service)
        if list.contains(where: { ($0.driver as? StaticUserDB)?.allowAllUsers == false }) {
            let ordinary = passdbs(serving: service).filter { !$0.spec.deny && !$0.spec.master }
            if let failure = await runPassdbs(ordinary, &state, request, password: nil) { return .failure(failure) }
        }
        return await runUserdbs(state, request)
    }

    /// A userdb to ask: a configured one, or (with no userdb configured) a passdb that can answer as one.
    private struct UserDBCandidate {
        var key: Character
        var index: Int
        var driverName: String
        var driver: any UserDBDriver
        var spec: UserDBSpec?
    }

    private func userdbCandidates(_ state: ChainState, _ request: AuthRequest) -> [UserDBCandidate] {
        let configured = userdbs(serving: request.service)
        if !configured.isEmpty {
            return configured.map {
                UserDBCandidate(key: "u", index: $0.index, driverName: $0.spec.driver, driver: $0.driver, spec: $0.spec)
            }
        }
        // No userdb configured: passwd-file passdbs double as userdbs, the one that accepted the login first.
        var passdbList = passdbs(serving: request.service).filter { !$0.spec.deny && !$0.spec.master }
        if let succeeded = state.succeeded, let at = passdbList.firstIndex(where: { $0.index == succeeded.index }) {
            passdbList.insert(passdbList.remove(at: at), at: 0)
        }
        return passdbList.compactMap { db in
            (db.driver as? any UserDBDriver).map {
                UserDBCandidate(key: "q", index: db.index, driverName: db.spec.driver, driver: $0, spec: nil)
            }
        }
    }

    func runUserdbs(_ state: ChainState, _ request: AuthRequest) async -> AuthResult {
        var user = state.user
        var success = false
        var seenInternalFailure = false
        var last: UserDBResult = .userUnknown
        var fields: [String: String] = [:]
        var driverName = "passwd-file"
        for candidate in userdbCandidates(state, request) {
            let spec = candidate.spec ?? UserDBSpec(path: "")
            switch spec.skip {
            case .found where success, .notfound where !success: continue
            case .never, .found, .notfound: break
            }
            driverName = candidate.driverName
            let lookup = lookupRequest(user, request)
            var result =
                candidate.driver is PrefetchUserDB
                ? PrefetchUserDB.answer(state.fields)
                : await cachedUserLookup(candidate.key, candidate.index, candidate.driver, lookup)
            if case .ok(let found) = result {
                var expanded = AuthFields.apply(
                    defaults: spec.defaultFields, overrides: spec.overrideFields, to: found, request: lookup,
                    variables: AuthFields.variables(lookup, passdb: state.fields, userdb: found))
                if let renamed = expanded.removeValue(forKey: "user"), !renamed.isEmpty { user = renamed }
                fields.merge(expanded) { $1 }
                result = .ok(expanded)
            }
            last = result
            let rule: AuthDBRule
            switch result {
            case .ok: rule = spec.resultSuccess
            case .internalFailure: rule = spec.resultInternalFailure
            case .userUnknown: rule = spec.resultFailure
            }
            if result == .internalFailure { seenInternalFailure = true }
            var proceed = false
            switch rule {
            case .returnAsIs: break
            case .returnOK: success = true
            case .returnFail: success = false
            case .continue: proceed = true
            case .continueOK: (proceed, success) = (true, true)
            case .continueFail: (proceed, success) = (true, false)
            }
            if !proceed { break }
        }
        guard success else {
            if seenInternalFailure || last == .internalFailure { return .failure(.temporaryFailure) }
            // For a delivery lookup an unknown recipient is routine (Dovecot logs it at Info); after a correct
            // password it means the databases disagree, which the admin must see.
            fail(
                driverName, user, request, "user not found from userdb",
                level: request.service == "lookup" ? .info : .error)
            return .failure(.unknownUser)
        }
        // Passdb `userdb_*` fields override the userdb (Dovecot prefetch semantics).
        for (key, value) in state.fields where key.hasPrefix("userdb_") {
            fields[AuthFields.stripUserdbPrefix(key)] = value
        }
        return finish(user: user, fields: fields, driver: driverName, request: request)
    }

    private func cachedUserLookup(
        _ kind: Character, _ index: Int, _ driver: any UserDBDriver, _ lookup: AuthLookupRequest
    )
        async -> UserDBResult
    {
        // A static userdb answers from its templates: nothing to save.
        if driver is StaticUserDB { return await driver.lookup(lookup) }
        let key = AuthCache.key(kind, index, lookup.user)
        var stale: [String: String]?
        if let hit = cache?.get(key) {
            switch hit.value {
            case .userdb(let fields) where !hit.expired: return .ok(fields)
            case .userdb(let fields): stale = fields
            case .unknown where !hit.expired: return .userUnknown
            default: break
            }
        }
        let result = await driver.lookup(lookup)
        switch result {
        case .ok(let fields): cache?.put(key, user: lookup.user, .userdb(fields))
        case .userUnknown: cache?.put(key, user: lookup.user, .unknown)
        case .internalFailure: if let stale { return .ok(stale) }
        }
        return result
    }

    /// uid/gid/home from the fields (names resolved), then the `first_valid_uid`… policy.
    private func finish(
        user name: String, fields input: [String: String], driver: String, request: AuthRequest
    )
        -> AuthResult
    {
        var fields = input
        let uidText = fields.removeValue(forKey: "uid")
        let gidText = fields.removeValue(forKey: "gid")
        let home = fields.removeValue(forKey: "home") ?? ""
        for key in ["nologin", "reason", "allow_nets", "nodelay", "noauthenticate"] { fields.removeValue(forKey: key) }
        let givenUID = uidText.map(AuthFields.uid) ?? configuration.defaultUID
        let givenGID = gidText.map(AuthFields.gid) ?? configuration.defaultGID
        let context = (driver, name, request)
        guard
            let uid = permitted(
                "UID", givenUID, uidText, noSuch: "user", configuration.firstValidUID, configuration.lastValidUID,
                context)
        else { return .failure(.uidNotPermitted) }
        guard
            let gid = permitted(
                "GID", givenGID, gidText, noSuch: "group", configuration.firstValidGID, configuration.lastValidGID,
                context)
        else { return .failure(.gidNotPermitted) }
        if configuration.verbose || configuration.debug {
            log.debug(AuthLogFormat.category, "\(prefix(driver, name, request)): Authenticated (uid=\(uid) gid=\(gid))")
        }
        return .success(AuthenticatedUser(user: name, uid: uid, gid: gid, home: home, extraFields: fields))
    }

    /// `permittedID`, its refusal logged for `context` (driver, user, request); nil when refused.
    private func permitted(
        _ kind: String, _ id: UInt32?, _ text: String?, noSuch: String, _ first: UInt32, _ last: UInt32,
        _ context: (driver: String, name: String, request: AuthRequest)
    ) -> UInt32? {
        switch Self.permittedID(kind, id, text, noSuch: noSuch, first: first, last: last) {
        case .success(let id): return id
        case .failure(let refusal):
            fail(context.driver, context.name, context.request, refusal.message, level: refusal.level)
            return nil
        }
    }

    struct IDRefusal: Error {
        var message: String
        var level: LogLevel
    }

    /// A uid or gid (`kind` "UID" or "GID") checked as Dovecot does: present and resolved, inside
    /// `first_valid_*`..`last_valid_*` (0 for last: no limit); uid 0 is never permitted.
    static func permittedID(
        _ kind: String, _ id: UInt32?, _ text: String?, noSuch: String, first: UInt32, last: UInt32
    ) -> Result<UInt32, IDRefusal> {
        let setting = kind.lowercased()
        guard let id else {
            guard let text else {
                let message = "User is missing \(kind) (see mail_\(setting) setting)"
                return .failure(IDRefusal(message: message, level: .info))
            }
            let message = "Invalid \(setting) \(AuthLogFormat.sanitize(text)) (no such \(noSuch))"
            return .failure(IDRefusal(message: message, level: .error))
        }
        let bound = (kind == "UID" && id == 0) || id < first ? "first" : last != 0 && id > last ? "last" : nil
        if let bound {
            let message =
                "Mail access for users with \(kind) \(id) not permitted (see \(bound)_valid_\(setting) in config file)"
            return .failure(IDRefusal(message: message, level: .info))
        }
        return .success(id)
    }
}
