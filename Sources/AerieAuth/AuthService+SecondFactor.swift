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

/// Second factors in the password check (issue 13 item 4): an app password stands for the password and the code;
/// a user with TOTP needs `PASSWORD<separator>CODE` (RFC 6238) for the main password.
extension AuthService {
    func verifyWithSecondFactors(
        _ request: AuthRequest, name: String, entry: PasswdFileEntry, passdb: PassDBSpec
    )
        -> PasswordCheck
    {
        let plain = {
            PasswordSchemes.verify(
                password: $0, stored: entry.password, defaultScheme: passdb.defaultScheme,
                allowWeakSchemes: self.configuration.allowWeakSchemes)
        }
        guard let store = secondFactorStore.store(configuration.secondFactorDirectory) else {
            return plain(request.password)
        }
        let factors: UserFactors
        do { factors = try store.factors(for: name) } catch {
            // Fail closed: a user whose second factor cannot be read must not get in on the password alone.
            log.error(AuthLogFormat.category, "\(prefix(passdb.driver, name, request)): second factors: \(error)")
            return .malformed
        }
        let now = Int64(time(nil))
        for app in factors.appPasswords
        where PasswordSchemes.verify(password: request.password, stored: app.hash, allowWeakSchemes: false) == .match {
            let label = AuthLogFormat.sanitize(app.name)
            if let refusal = app.refusal(service: request.service, remoteIP: request.remoteIP, now: now) {
                fail(passdb.driver, name, request, "app password '\(label)' refused: \(refusal)")
                return .mismatch
            }
            log.info(AuthLogFormat.category, "\(prefix(passdb.driver, name, request)): app password '\(label)' used")
            return .match
        }
        guard let totp = factors.totp else { return plain(request.password) }
        let separator = configuration.totpSeparator
        guard let (password, code) = Self.splitCode(request.password, separator: separator) else {
            spendDummyVerification(request)
            fail(passdb.driver, name, request, "TOTP code missing")
            return .mismatch
        }
        let check = plain(password)
        guard check == .match else { return check }
        do {
            guard try store.acceptTOTP(user: name, enrolment: totp, code: code, now: now) else {
                fail(passdb.driver, name, request, "TOTP code invalid or already used")
                return .mismatch
            }
        } catch {
            log.error(AuthLogFormat.category, "\(prefix(passdb.driver, name, request)): TOTP: \(error)")
            return .malformed
        }
        debug(passdb.driver, name, request, "TOTP code verified")
        return .match
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
