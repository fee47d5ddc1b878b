import AerieCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The one store per auth service, made on first use from the configuration.
final class SecondFactorStoreHolder: Sendable {
    private let store = Mutex<SecondFactorStore?>(nil)

    func store(_ directory: String) -> SecondFactorStore? {
        guard !directory.isEmpty else { return nil }
        return store.withLock { store in
            if let store { return store }
            let made = SecondFactorStore(directory: directory)
            store = made
            return made
        }
    }
}

/// Second factors in the passdb chain's password check (issue 13 item 4): an app password stands for the password
/// and the code; a user with TOTP needs `PASSWORD<separator>CODE` (RFC 6238) for the main password. The code is
/// split off before any passdb sees the password (a bind driver gets the main password only), the auth cache holds
/// the main password's verification only, and the code is checked, and spent, on every login.
extension AuthService {
    /// What the user's factors say about a password, decided on the hashing pool (app passwords are hashes).
    private enum FactorCheck: Sendable {
        case unreadable(String)
        case appPassword(String, refusal: String?)
        case mainPassword(TOTPEnrolment?)
    }

    private enum TOTPCheck: Sendable {
        case accepted, refused
        case unreadable(String)
    }

    /// One passdb's password verification with the user's second factors.
    func verifyWithSecondFactors(
        _ db: ConfiguredPassDB, _ state: inout ChainState, _ lookup: AuthLookupRequest, _ request: AuthRequest,
        password: String
    ) async -> PassDBStep {
        let name = lookup.user, driver = db.spec.driver
        guard let store = secondFactorStore.store(configuration.secondFactorDirectory) else {
            if configuration.mainPasswordAloneRefused.contains(request.service) {
                return await mainPasswordAloneRefused(driver, name, request, password: password)
            }
            return await cachedVerify(db, lookup, request, password: password)
        }
        let service = request.service, remoteIP = request.remoteIP
        let now = clock.unixTime()
        let checked = await pool.run { () -> FactorCheck in
            let factors: UserFactors
            do { factors = try store.factors(for: name) } catch { return .unreadable("\(error)") }
            for app in factors.appPasswords
            where PasswordSchemes.verify(password: password, stored: app.hash, allowWeakSchemes: false) == .match {
                return .appPassword(app.name, refusal: app.refusal(service: service, remoteIP: remoteIP, now: now))
            }
            return .mainPassword(factors.totp)
        }
        switch checked {
        case nil:
            log.warning(
                AuthLogFormat.category,
                "\(prefix(driver, name, request)): Password hashing queue full, temporary failure")
            return .result(.internalFailure)
        case .unreadable(let error)?:
            // Fail closed: a user whose second factor cannot be read must not get in on the password alone.
            log.error(AuthLogFormat.category, "\(prefix(driver, name, request)): second factors: \(error)")
            return .result(.internalFailure)
        case .appPassword(let app, let refusal?)?:
            fail(driver, name, request, "app password '\(AuthLogFormat.sanitize(app))' refused: \(refusal)")
            return .result(.passwordMismatch)
        case .appPassword(let app, nil)?:
            // The app password stands for the password: the passdb only has to know the user.
            let found = await cachedLookup(db, lookup)
            if case .ok = found {
                log.info(
                    AuthLogFormat.category,
                    "\(prefix(driver, name, request)): app password '\(AuthLogFormat.sanitize(app))' used")
            }
            return .result(found)
        case .mainPassword(nil)? where configuration.mainPasswordAloneRefused.contains(service):
            return await mainPasswordAloneRefused(driver, name, request, password: password)
        case .mainPassword(nil)?:
            return await cachedVerify(db, lookup, request, password: password)
        case .mainPassword(let totp?)?:
            guard let (main, code) = Self.splitCode(password, separator: configuration.totpSeparator) else {
                await spendDummyVerification(password)
                fail(driver, name, request, "TOTP code missing")
                return .result(.passwordMismatch)
            }
            let step = await cachedVerify(db, lookup, request, password: main)
            // An earlier passdb of this login spent the code already (a `continue*` rule went on).
            guard case .result(.ok) = step, state.totpVerified != name else { return step }
            let accepted = await pool.run { () -> TOTPCheck in
                do {
                    let fresh = try store.acceptTOTP(user: name, enrolment: totp, code: code, now: now)
                    return fresh ? .accepted : .refused
                } catch { return .unreadable("\(error)") }
            }
            switch accepted {
            case nil:
                log.warning(
                    AuthLogFormat.category,
                    "\(prefix(driver, name, request)): Password hashing queue full, temporary failure")
                return .result(.internalFailure)
            case .refused?:
                fail(driver, name, request, "TOTP code invalid or already used")
                return .result(.passwordMismatch)
            case .accepted?:
                state.totpVerified = name
                debug(driver, name, request, "TOTP code verified")
                return step
            case .unreadable(let error)?:
                log.error(AuthLogFormat.category, "\(prefix(driver, name, request)): TOTP: \(error)")
                return .result(.internalFailure)
            }
        }
    }

    /// `auth_main_password_alone = no` for this protocol and a user without TOTP: as slow as a real check, logged
    /// with the reason, and to the client the same failure as a wrong password.
    private func mainPasswordAloneRefused(
        _ driver: String, _ name: String, _ request: AuthRequest, password: String
    ) async -> PassDBStep {
        await spendDummyVerification(password)
        fail(
            driver, name, request,
            "the main password alone is refused for \(request.service) (auth_main_password_alone = no): "
                + "use an app password or a second factor")
        return .result(.passwordMismatch)
    }

    /// `PASSWORD<separator>CODE` split at the last separator (the password may contain it too).
    static func splitCode(_ text: String, separator: String) -> (String, String)? {
        let bytes = Array(text.utf8)
        let mark = Array(separator.utf8)
        guard !mark.isEmpty, bytes.count >= mark.count else { return nil }
        for start in stride(from: bytes.count - mark.count, through: 0, by: -1)
        where Array(bytes[start..<start + mark.count]) == mark {
            return (
                String(decoding: bytes[..<start], as: UTF8.self),
                String(decoding: bytes[(start + mark.count)...], as: UTF8.self)
            )
        }
        return nil
    }

    /// Whether SCRAM must be refused for the user: it carries no TOTP code.
    func requiresTOTP(_ name: String) -> Bool {
        guard let store = secondFactorStore.store(configuration.secondFactorDirectory) else { return false }
        guard let factors = try? store.factors(for: name) else { return true }
        return factors.totp != nil
    }
}
