/// `aerie adm auth test|lookup|cache flush` and `aerie adm user`, answered by the auth process (doveadm's
/// `auth test`, `auth lookup`, `auth cache flush`, `user`). Never prints a password or a hash.
extension AuthService {
    /// Runs an admin command; the synchronous ones (`penalty`, `ban`) go to `admin(_:)`. A user listing
    /// (`user -A`, `user MASK`) streams its names to `part` when given (false from it stops the listing).
    public func administer(
        _ arguments: [String], part: (@Sendable (String) async -> Bool)? = nil
    ) async -> (Bool, String) {
        let words = arguments.first == "-p" && arguments.count > 2 ? Array(arguments.dropFirst(2)) : arguments
        let service = words.count == arguments.count ? "imap" : arguments[1]
        switch (words.first, words.dropFirst().first) {
        case ("auth", "test") where words.count == 4:
            return await test(user: words[2], password: words[3], service: service)
        case ("auth", "lookup") where words.count == 3:
            return await passdbLookup(user: words[2], service: service)
        case ("auth", "cache") where words.count >= 3 && words[2] == "flush":
            return flushCache(users: Array(words.dropFirst(3)))
        case ("user", _) where words.count == 2 && Self.isUserMask(words[1]):
            return await listUsers(mask: words[1], part: part)
        case ("user", _) where words.count == 2:
            return Self.describe(words[1], await lookup(words[1], service: service == "imap" ? "lookup" : service))
        case ("totp", _), ("app-password", _):
            return administerFactors(words)
        case ("auth", _), ("user", _):
            return (
                false,
                "usage: auth test USER PASSWORD | auth lookup USER | auth cache flush [USER…] | user USER|-A|MASK "
                    + "(each after -p PROTOCOL to choose the protocol's passdbs)"
            )
        default:
            return admin(arguments)
        }
    }

    /// The whole chain without penalties or failure delays (the admin is not a guesser).
    private func test(user: String, password: String, service: String) async -> (Bool, String) {
        let request = AuthRequest(
            user: user, password: password, mechanism: "PLAIN", service: service,
            remoteIP: "", secured: true, sessionID: "adm")
        let (result, _) = await runChain(request)
        switch result {
        case .success(let found):
            log.info(AuthLogFormat.category, "adm: auth test for \(AuthLogFormat.sanitize(found.user)) succeeded")
            return (true, "passdb: \(found.user) auth succeeded\n" + Self.userLines(found))
        case .failure(let failure):
            log.info(AuthLogFormat.category, "adm: auth test for \(AuthLogFormat.sanitize(user)) failed")
            return (false, "passdb: \(user) auth failed: \(Self.words(failure))")
        }
    }

    private func passdbLookup(user: String, service: String) async -> (Bool, String) {
        let request = AuthRequest(user: user, password: "", service: service, sessionID: "adm")
        let name: String
        do { name = try usernames.parse(user, allowMaster: false).user } catch {
            return (false, "passdb: \(user): invalid user name")
        }
        var state = ChainState(user: name, passwordVerified: true, checksLoginFields: false)
        let ordinary = passdbs(serving: service).filter { !$0.spec.deny && !$0.spec.master }
        if let failure = await runPassdbs(ordinary, &state, request, password: nil) {
            return (false, "passdb: \(name): \(Self.words(failure))")
        }
        let fields = state.fields.filter { $0.key != "password" && $0.key != "password_noscheme" }
        let lines = fields.keys.sorted().map { "  \($0)=\(fields[$0]!)" }
        return (
            true,
            (["passdb: \(state.user)"] + (lines.isEmpty ? [] : ["  extra fields:"] + lines)).joined(separator: "\n")
        )
    }

    private func flushCache(users: [String]) -> (Bool, String) {
        guard let cache else { return (true, "0 cache entries flushed (auth_cache_size = 0)") }
        let names = users.map { (try? usernames.fix($0)) ?? $0 }
        let count = users.isEmpty ? cache.flush() : cache.flush(users: names)
        let whose = users.isEmpty ? "" : " for " + names.map(AuthLogFormat.sanitize).joined(separator: ", ")
        log.info(AuthLogFormat.category, "auth cache flushed\(whose) by aerie adm (\(count) entries)")
        return (true, "\(count) cache entries flushed")
    }

    private static func describe(_ user: String, _ result: AuthResult) -> (Bool, String) {
        switch result {
        case .success(let found): return (true, "userdb: \(found.user)\n" + userLines(found))
        case .failure(let failure): return (false, "userdb: \(user): \(words(failure))")
        }
    }

    private static func userLines(_ user: AuthenticatedUser) -> String {
        var lines = ["  uid=\(user.uid)", "  gid=\(user.gid)", "  home=\(user.home)"]
        lines += user.extraFields.keys.sorted().map { "  \($0)=\(user.extraFields[$0]!)" }
        return lines.joined(separator: "\n")
    }

    private static func words(_ failure: AuthFailure) -> String {
        switch failure {
        case .passwordMismatch: "password mismatch"
        case .unknownUser: "user unknown"
        case .denied: "login refused (deny passdb or nologin)"
        case .uidNotPermitted: "uid not permitted"
        case .gidNotPermitted: "gid not permitted"
        case .schemeNotAllowed: "password scheme not allowed"
        case .temporaryFailure: "internal failure"
        }
    }
}
