import AerieCore

/// Passdb steps through the auth cache: a fresh entry answers without the backend.
extension AuthService {
    /// Verifies `password` for one passdb, from the cache when it can.
    func cachedVerify(
        _ db: ConfiguredPassDB, _ lookup: AuthLookupRequest, _ request: AuthRequest, password: String
    )
        async -> PassDBStep
    {
        let key = AuthCache.key("p", db.index, lookup.user)
        let driver = db.spec.driver
        var stale: AuthCache.Hit?
        var cachedSuccess = false
        if let hit = cache?.get(key) {
            if case .passdb = hit.value, !hit.expired { cachedSuccess = true }
            if hit.expired {
                stale = hit
            } else {
                switch hit.value {
                case .unknown:
                    debug(driver, lookup.user, request, "cache hit: user unknown")
                    return .result(.userUnknown)
                case .passdb(let entry, let verifier):
                    let stored = db.driver.verifiesPasswords ? verifier : entry.password
                    if let stored {
                        switch await check(password, stored, db, lookup, request) {
                        case .result(.ok):
                            debug(driver, lookup.user, request, "cache hit: password verified")
                            if !db.driver.verifiesPasswords {
                                await rehashIfWeaker(db, lookup, request, password: password, stored: stored)
                            }
                            return .result(.ok(entry))
                        case .result(.passwordMismatch) where !hit.lastSuccess:
                            fail(driver, lookup.user, request, "Password mismatch (cached)")
                            return .result(.passwordMismatch)
                        case .result(.passwordMismatch):
                            // The password may have changed since: ask the backend once.
                            cache?.markFailed(key)
                        case let other:
                            return other
                        }
                    } else if !db.driver.verifiesPasswords {
                        await spendDummyVerification(password)
                        fail(driver, lookup.user, request, "Password mismatch (no password in passdb, cached)")
                        return .result(.passwordMismatch)
                    }
                case .mismatch(let verifier):
                    if case .result(.ok) = await check(password, verifier, db, lookup, request) {
                        fail(driver, lookup.user, request, "Password mismatch (cached)")
                        return .result(.passwordMismatch)
                    }
                case .userdb:
                    break
                }
            }
        }
        if db.driver.verifiesPasswords {
            let result = await db.driver.verifyPlain(lookup, password: password)
            switch result {
            case .ok(let entry):
                debug(driver, lookup.user, request, "Password verified")
                if let verifier = Self.verifier(password) {
                    cache?.put(key, user: lookup.user, .passdb(PassDBEntry(fields: entry.fields), verifier: verifier))
                }
            case .passwordMismatch:
                fail(driver, lookup.user, request, "Password mismatch")
                // A cached success stays (marked failed, so the next mismatch is answered from it).
                if !cachedSuccess, let verifier = Self.verifier(password) {
                    cache?.put(key, user: lookup.user, .mismatch(verifier: verifier))
                }
            case .userUnknown:
                cache?.put(key, user: lookup.user, .unknown)
            case .internalFailure:
                if case .passdb(let entry, let verifier?)? = stale?.value,
                    case .result(.ok) = await check(password, verifier, db, lookup, request)
                {
                    log.info(
                        AuthLogFormat.category,
                        "\(prefix(driver, lookup.user, request)): Falling back to expired data from cache")
                    return .result(.ok(entry))
                }
            case .next:
                break
            }
            return .result(result)
        }
        var result = await db.driver.lookup(lookup)
        var fallback = false
        if result == .internalFailure, case .passdb(let entry, _)? = stale?.value {
            log.info(
                AuthLogFormat.category,
                "\(prefix(driver, lookup.user, request)): Falling back to expired data from cache")
            result = .ok(entry)
            fallback = true
        }
        switch result {
        case .ok(let entry):
            if !fallback { cache?.put(key, user: lookup.user, .passdb(entry, verifier: nil)) }
            guard let stored = entry.password else {
                await spendDummyVerification(password)
                cache?.markFailed(key)
                fail(driver, lookup.user, request, "Password mismatch (no password in passdb)")
                return .result(.passwordMismatch)
            }
            let step = await check(password, stored, db, lookup, request)
            switch step {
            case .result(.ok):
                debug(driver, lookup.user, request, "Password verified")
                await rehashIfWeaker(db, lookup, request, password: password, stored: stored)
                return .result(.ok(entry))
            case .result(.passwordMismatch):
                cache?.markFailed(key)
                fail(driver, lookup.user, request, "Password mismatch")
                return step
            default:
                cache?.markFailed(key)
                return step
            }
        case .userUnknown:
            cache?.put(key, user: lookup.user, .unknown)
            return .result(.userUnknown)
        case .passwordMismatch, .internalFailure, .next:
            return .result(result)
        }
    }

    /// Looks the user up in one passdb without a password, from the cache when it can.
    func cachedLookup(_ db: ConfiguredPassDB, _ lookup: AuthLookupRequest) async -> PassDBResult {
        let key = AuthCache.key("p", db.index, lookup.user)
        var stale: PassDBEntry?
        if let hit = cache?.get(key) {
            switch hit.value {
            case .passdb(let entry, _) where !hit.expired: return .ok(entry)
            case .passdb(let entry, _): stale = entry
            case .unknown where !hit.expired: return .userUnknown
            default: break
            }
        }
        let result = await db.driver.lookup(lookup)
        switch result {
        case .ok(let entry):
            // A bind database's entry would lose its verifier: keep the cache for verifications.
            if !db.driver.verifiesPasswords { cache?.put(key, user: lookup.user, .passdb(entry, verifier: nil)) }
        case .userUnknown:
            cache?.put(key, user: lookup.user, .unknown)
        case .internalFailure:
            if let stale { return .ok(stale) }
        case .passwordMismatch, .next:
            break
        }
        return result
    }

    /// Checks a password against a stored hash on the hashing pool: `.ok` (with no fields), `.passwordMismatch`,
    /// `.weakScheme`, or `.internalFailure` (unknown scheme, malformed hash, queue full) — each logged, never the
    /// hash.
    func check(
        _ password: String, _ stored: String, _ db: ConfiguredPassDB, _ lookup: AuthLookupRequest,
        _ request: AuthRequest
    ) async -> PassDBStep {
        let scheme = db.spec.defaultScheme
        let allowWeak = configuration.allowWeakSchemes
        let checked = await pool.run {
            PasswordSchemes.verify(
                password: password, stored: stored, defaultScheme: scheme, allowWeakSchemes: allowWeak)
        }
        let driver = db.spec.driver
        switch checked {
        case nil:
            log.warning(
                AuthLogFormat.category,
                "\(prefix(driver, lookup.user, request)): Password hashing queue full, temporary failure")
            return .result(.internalFailure)
        case .match?: return .result(.ok(PassDBEntry()))
        case .mismatch?: return .result(.passwordMismatch)
        case .weakSchemeRefused(let name)?:
            fail(driver, lookup.user, request, "Weak password scheme '\(name)' used and refused", level: .error)
            return .weakScheme
        case .unknownScheme(let name)?:
            fail(driver, lookup.user, request, "Unknown password scheme \(AuthLogFormat.sanitize(name))", level: .error)
            return .result(.internalFailure)
        case .malformed?:
            fail(driver, lookup.user, request, "Invalid password field in passdb", level: .error)
            return .result(.internalFailure)
        }
    }

    /// What a bind database's cache entry keeps instead of the password: a salted SHA-512 of it.
    static func verifier(_ password: String) -> String? {
        try? PasswordSchemes.hash(password: password, scheme: "SSHA512")
    }
}
