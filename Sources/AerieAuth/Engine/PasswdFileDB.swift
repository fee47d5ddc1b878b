/// The passwd-file driver as passdb and userdb: lookups in `PasswdFileCache` on the hashing pool, so file
/// reads never run on the caller's thread.
struct PasswdFileDB: PassDBDriver, UserDBDriver {
    /// May contain user variables (`%{user|domain}`, `%d`, …).
    let path: String
    let driverName: String
    let context: AuthDriverContext

    init(path: String, driverName: String, context: AuthDriverContext) {
        self.path = path
        self.driverName = driverName
        self.context = context
    }

    enum Found: Sendable {
        case entry(PasswdFileEntry)
        case unknown
        case failure
    }

    func find(_ request: AuthLookupRequest) async -> Found {
        await context.pool.run { self.findBlocking(request) } ?? .failure
    }

    func findBlocking(_ request: AuthLookupRequest) -> Found {
        let expanded: String
        do { expanded = try UserVariables.expandPath(path, user: request.user) } catch {
            // A name that would escape the directory is simply unknown: it never reaches the filesystem.
            context.debug(driverName, request, "user name not usable in passwd-file path")
            return .unknown
        }
        let perUser = path.utf8.contains(UInt8(ascii: "%"))
        switch context.files.lookup(user: request.user, path: expanded, missingIsUnknown: perUser) {
        case .found(let entry):
            context.debug(driverName, request, "lookup: found in \(expanded)")
            return .entry(entry)
        case .notFound:
            context.debug(driverName, request, "lookup: not found in \(expanded)")
            return .unknown
        case .failure(let message):
            context.error(driverName, request, message)
            return .failure
        }
    }

    func lookup(_ request: AuthLookupRequest) async -> PassDBResult {
        switch await find(request) {
        case .entry(let entry):
            return .ok(PassDBEntry(password: entry.password.isEmpty ? nil : entry.password, fields: entry.extraFields))
        case .unknown: return .userUnknown
        case .failure: return .internalFailure
        }
    }

    func lookup(_ request: AuthLookupRequest) async -> UserDBResult {
        switch await find(request) {
        case .entry(let entry): return .ok(Self.userdbFields(entry))
        case .unknown: return .userUnknown
        case .failure: return .internalFailure
        }
    }

    /// The uid/gid/home columns, overridden by the extra fields (`userdb_` prefix stripped).
    static func userdbFields(_ entry: PasswdFileEntry) -> [String: String] {
        var fields: [String: String] = [:]
        if let uid = entry.uid { fields["uid"] = String(uid) }
        if let gid = entry.gid { fields["gid"] = String(gid) }
        if !entry.home.isEmpty { fields["home"] = entry.home }
        for (key, value) in entry.extraFields { fields[AuthFields.stripUserdbPrefix(key)] = value }
        return fields
    }
}
