import AerieCore
import Synchronization

/// Users whose rehash was tried and failed (or was logged), so each is logged once per auth process.
final class RehashLog: Sendable {
    private let seen = Mutex<Set<String>>([])
    static let capacity = 10_000

    /// true the first time for `key` (and while the set has room).
    func first(_ key: String) -> Bool {
        seen.withLock { seen in
            guard seen.count < Self.capacity else { return false }
            return seen.insert(key).inserted
        }
    }
}

/// The rehashes a login earned, done only once the whole login succeeded (a TOTP code or a later passdb may still
/// refuse it after the password verified).
final class PendingRehashes: Sendable {
    struct Item: Sendable {
        let db: ConfiguredPassDB
        let lookup: AuthLookupRequest
        let password: String
        let stored: String
    }

    private let items = Mutex<[Item]>([])

    func add(_ item: Item) { items.withLock { $0.append(item) } }
    func take() -> [Item] {
        items.withLock { items in
            let taken = items
            items = []
            return taken
        }
    }

    /// Set by `authenticate` for the chain it runs; nil elsewhere (admin tests, lookups): no rehash.
    @TaskLocal static var current: PendingRehashes?
}

/// Rehash on login (issue 12 item 5): with `auth_rehash_scheme`, a passwd-file user whose verified hash is weaker
/// than the target gets a new hash of the password just verified, written back under a lock (or by the auth
/// supervisor when this process may not write there). Called with the main password only: the TOTP code is split
/// off before, and an app-password login never verifies the main password.
extension AuthService {
    /// Notes a verified password for a rehash after the login succeeds.
    func rehashIfWeaker(
        _ db: ConfiguredPassDB, _ lookup: AuthLookupRequest, _ request: AuthRequest, password: String, stored: String
    ) async {
        guard let target = configuration.rehashTarget, let pending = PendingRehashes.current,
            db.driver is PasswdFileDB || (db.driver as? SQLPassDB)?.updateQuery != nil,
            target.isWeaker(stored, defaultScheme: db.spec.defaultScheme)
        else { return }
        pending.add(PendingRehashes.Item(db: db, lookup: lookup, password: password, stored: stored))
    }

    /// Runs the rehashes a successful login noted.
    func runRehashes(_ pending: PendingRehashes, _ request: AuthRequest) async {
        for item in pending.take() {
            await rehash(item.db, item.lookup, request, password: item.password, stored: item.stored)
        }
    }

    func rehash(
        _ db: ConfiguredPassDB, _ lookup: AuthLookupRequest, _ request: AuthRequest, password: String, stored: String
    ) async {
        if let sql = db.driver as? SQLPassDB, let update = sql.updateQuery, let target = configuration.rehashTarget {
            let outcome: PasswdFileRehash.Outcome?
            switch await pool.run({ Result { try target.hash(password) } }) {
            case .success(let replacement)?:
                outcome = await sql.database.rehash(
                    lookup: sql.query, update: update, request: lookup, expected: stored, replacement: replacement)
            case .failure(let error)?: outcome = .failed("hashing: \(error)")
            case nil: outcome = nil
            }
            report(
                outcome, db, lookup, request, stored: stored, target: target, place: "the database",
                key: "sql:\(db.index)")
            return
        }
        guard let target = configuration.rehashTarget, let file = db.driver as? PasswdFileDB,
            let path = try? UserVariables.expandPath(file.path, user: lookup.user)
        else { return }
        let delegate = rehashDelegate, user = lookup.user
        let outcome = await pool.run { () -> PasswdFileRehash.Outcome in
            let replacement: String
            do { replacement = try target.hash(password) } catch { return .failed("hashing: \(error)") }
            let local = PasswdFileRehash.rewrite(path: path, user: user, expected: stored, replacement: replacement)
            if case .notPermitted = local, let delegate {
                return delegate(path, user, stored, replacement)
            }
            return local
        }
        report(outcome, db, lookup, request, stored: stored, target: target, place: path, key: path)
    }

    /// Logs a rehash's outcome: a success at Info (the cache entry flushed), a failure once per user and place.
    private func report(
        _ outcome: PasswdFileRehash.Outcome?, _ db: ConfiguredPassDB, _ lookup: AuthLookupRequest,
        _ request: AuthRequest, stored: String, target: RehashTarget, place: String, key: String
    ) {
        let driver = db.spec.driver, user = lookup.user
        let from = PasswordSchemes.split(stored: stored, defaultScheme: db.spec.defaultScheme).scheme.uppercased()
        switch outcome {
        case nil:
            debug(driver, user, request, "rehash skipped: password hashing queue full")
        case .replaced?:
            _ = cache?.flush(users: [user])
            log.info(
                AuthLogFormat.category,
                "\(prefix(driver, user, request)): password rehashed from \(AuthLogFormat.sanitize(from)) to "
                    + "\(target.scheme) in \(AuthLogFormat.sanitize(place))")
        case .changed?:
            debug(driver, user, request, "rehash skipped: the entry changed meanwhile")
        case .notPermitted(let why)?, .failed(let why)?:
            guard rehashLog.first(key + "\0" + user) else { return }
            log.warning(
                AuthLogFormat.category,
                "\(prefix(driver, user, request)): password rehash failed: \(AuthLogFormat.message(why))")
        }
    }
}
