/// Login names as Dovecot fixes them (auth-request-fields.c): split off a master user at
/// `auth_master_user_separator`, append `auth_default_domain` to a name without "@", translate characters by
/// `auth_username_translation`, refuse characters outside `auth_username_chars`, then apply
/// `auth_username_format`.
struct AuthUsernames: Sendable {
    let format: String
    /// nil: every character allowed.
    let allowed: Set<Unicode.Scalar>?
    let defaultDomain: String
    let separator: Character?
    /// `auth_username_translation` as pairs: each first character becomes the second.
    let translation: [Character: Character]

    init(_ configuration: AuthServiceConfiguration) {
        format = configuration.usernameFormat
        allowed = configuration.usernameChars.isEmpty ? nil : Set(configuration.usernameChars.unicodeScalars)
        defaultDomain = configuration.defaultDomain
        separator = configuration.masterUserSeparator.first
        var translation: [Character: Character] = [:]
        let pairs = Array(configuration.usernameTranslation)
        for index in stride(from: 0, to: pairs.count - 1, by: 2) { translation[pairs[index]] = pairs[index + 1] }
        self.translation = translation
    }

    /// A login name split into the user to log in as and, for `user*master`, the master user.
    struct Parsed: Sendable, Equatable {
        var user: String
        var master: String?
    }

    enum Problem: Error, Sendable, Equatable {
        /// The text is Dovecot's log message.
        case invalid(String)
    }

    /// `allowMaster` is false for lookups without a login (deliveries), where the separator is an ordinary
    /// character.
    func parse(_ login: String, allowMaster: Bool = true) throws(Problem) -> Parsed {
        if allowMaster, let separator, let split = login.firstIndex(of: separator) {
            let user = String(login[..<split])
            let master = String(login[login.index(after: split)...])
            return Parsed(user: try fix(user), master: try fix(master))
        }
        return Parsed(user: try fix(login), master: nil)
    }

    func fix(_ name: String) throws(Problem) -> String {
        var user = name
        if !defaultDomain.isEmpty, !user.contains("@") { user += "@" + defaultDomain }
        if !translation.isEmpty { user = String(user.map { translation[$0] ?? $0 }) }
        if let allowed, let bad = user.unicodeScalars.first(where: { !allowed.contains($0) }) {
            let hex = bad.value < 0x100 ? String(bad.value, radix: 16) : "u+" + String(bad.value, radix: 16)
            throw .invalid(
                "Username character disallowed by auth_username_chars: 0x\(hex.count == 1 ? "0" + hex : hex) "
                    + "(username: \(AuthLogFormat.sanitize(name)))")
        }
        if !format.isEmpty { user = (try? UserVariables.expand(format, user: user)) ?? user }
        guard !user.isEmpty else { throw .invalid("Empty username") }
        return user
    }

    /// The name penalties count failures under: the fixed name, or the login as given when it cannot be fixed.
    func penaltyName(_ login: String) -> String {
        (try? parse(login).user) ?? login
    }
}
