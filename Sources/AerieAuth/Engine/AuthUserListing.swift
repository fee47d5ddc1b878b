/// A userdb that can list its users, for `aerie adm user '*'` (Dovecot's userdb iteration, `doveadm user -A`).
protocol UserIterating: Sendable {
    /// false when this instance is not set up to list (an `sql` userdb without `iterate_query`).
    var canListUsers: Bool { get }
    /// Calls `emit` with each user name until it returns false; false when the listing failed (logged).
    func listUsers(_ emit: @escaping @Sendable (String) async -> Bool) async -> Bool
}

extension PasswdFileDB: UserIterating {
    /// A path with user variables is one file per domain or user: there is no list of them to read.
    var canListUsers: Bool { !path.contains("%") }

    func listUsers(_ emit: @escaping @Sendable (String) async -> Bool) async -> Bool {
        let request = AuthLookupRequest(user: "", service: "adm", sessionID: "adm")
        guard canListUsers else { return false }
        let files = context.files, path = self.path
        switch await context.pool.run({ files.userNames(path: path) }) {
        case .success(let names)?:
            for name in names {
                guard await emit(name) else { break }
            }
            return true
        case .failure(let error)?:
            context.error(driverName, request, "user listing: \(error.message)")
            return false
        case nil:
            context.error(driverName, request, "user listing: the hashing queue is full")
            return false
        }
    }
}

/// `aerie adm user -A` / `aerie adm user MASK`: the names every listing userdb holds, in userdb order, that match
/// the mask (`*` any run, `?` one character, case-insensitive, as doveadm's `wildcard_match_icase`). The mask is only
/// ever matched here, never sent to a database or directory.
extension AuthService {
    /// Longest mask accepted (a user name is at most a few hundred bytes).
    static let maximumUserMask = 512
    /// Names per streamed part, so each part stays well under the wire's string limit.
    static let namesPerPart = 64

    /// Whether `aerie adm user ARG` lists users rather than looking one up.
    static func isUserMask(_ argument: String) -> Bool {
        argument == "-A" || argument.contains("*") || argument.contains("?")
    }

    /// Streams the matching names to `part` (lines of up to `namesPerPart` names); the returned text is the summary,
    /// or without `part` the names themselves (cut by the wire's limit).
    func listUsers(mask rawMask: String, part: (@Sendable (String) async -> Bool)?) async -> (Bool, String) {
        let mask = rawMask == "-A" ? "*" : rawMask
        guard mask.utf8.count <= Self.maximumUserMask else { return (false, "user mask too long") }
        let listing = userdbs.compactMap { $0.driver as? any UserIterating }.filter(\.canListUsers)
        guard !listing.isEmpty else {
            return (false, "no userdb can list its users (passwd-file without variables, or sql with iterate_query)")
        }
        let collector = UserNameBatches(mask: mask, part: part)
        var failed = false
        for db in listing {
            if !(await db.listUsers({ await collector.add($0) })) { failed = true }
        }
        let (count, rest) = await collector.finish()
        if failed { return (false, rest + "user listing failed (see the auth log); \(count) users listed") }
        log.info(AuthLogFormat.category, "adm: \(count) users listed for mask \(AuthLogFormat.sanitize(mask))")
        return (true, rest)
    }
}

/// Matching names in batches: sent as parts when streaming, else kept (bounded) for the single answer.
actor UserNameBatches {
    let mask: WildcardMask
    let part: (@Sendable (String) async -> Bool)?
    private var batch: [String] = []
    private var kept = ""
    private var count = 0
    private var open = true

    init(mask: String, part: (@Sendable (String) async -> Bool)?) {
        self.mask = WildcardMask(mask, ignoringCase: true)
        self.part = part
    }

    /// false once the reader is gone: the listing stops.
    func add(_ name: String) async -> Bool {
        guard open else { return false }
        guard mask.matches(name) else { return true }
        count += 1
        batch.append(AuthLogFormat.sanitize(name))
        if batch.count >= AuthService.namesPerPart { await flush() }
        return open
    }

    private func flush() async {
        guard !batch.isEmpty else { return }
        let text = batch.joined(separator: "\n")
        batch = []
        if let part {
            open = await part(text)
        } else if kept.utf8.count < AuthWire.maxString {
            kept += text + "\n"
        }
    }

    func finish() async -> (Int, String) {
        await flush()
        return (count, kept)
    }
}
