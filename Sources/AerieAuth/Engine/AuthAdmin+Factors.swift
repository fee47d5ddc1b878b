import AerieCore

#if canImport(Glibc)
    import Glibc
#endif

/// `aerie adm --host … totp|app-password …`: over TCP the serving process passes these on to the auth process,
/// which changes `state_dir/auth` itself (`aerie adm` on the server's machine writes it directly). Secrets are in
/// the answer once and never logged.
extension AuthService {
    static let factorUsage =
        "usage: totp enroll USER SHA1|SHA256 ISSUER | totp disable USER | app-password add USER NAME PROTOCOLS NETS "
        + "EXPIRES-SECONDS | app-password list USER | app-password revoke USER NAME"

    func administerFactors(_ words: [String]) -> (Bool, String) {
        guard let store = secondFactorStore.store(configuration.secondFactorDirectory) else {
            return (false, "state_dir is empty: second factors are kept in state_dir/auth")
        }
        guard words.count >= 3, let user = try? usernames.fix(words[2]), SecondFactorStore.validName(user) else {
            return (false, Self.factorUsage)
        }
        let who = AuthLogFormat.sanitize(user)
        do {
            switch (words[0], words[1], words.count) {
            case ("totp", "enroll", 5):
                guard let algorithm = TOTP.Algorithm(rawValue: words[3].uppercased()), algorithm != .sha512,
                    !words[4].isEmpty, words[4].utf8.count <= 100
                else { return (false, Self.factorUsage) }
                let totp = try store.enrollTOTP(user: user, algorithm: algorithm, group: nil)
                log.info(AuthLogFormat.category, "adm: TOTP enrolled for \(who)")
                return (
                    true,
                    totp.uri(issuer: words[4], account: user) + "\nsecret (base32): \(Base32.encode(totp.secret))\n"
                        + "Log in with PASSWORD\(configuration.totpSeparator)CODE, or use an app password."
                )
            case ("totp", "disable", 3):
                guard try store.disableTOTP(user: user, group: nil) else { return (false, "\(user) has no TOTP enrolment") }
                log.info(AuthLogFormat.category, "adm: TOTP disabled for \(who)")
                return (true, "TOTP disabled for \(user)")
            case ("app-password", "add", 7):
                let name = words[3]
                let protocols = words[4].split(separator: ",").map(String.init)
                let networks = words[5].split(separator: ",").map(String.init)
                guard SecondFactorStore.validName(name),
                    protocols.allSatisfy({ ["imap", "pop3", "lmtp", "admin"].contains($0) }),
                    CIDRList(networks).invalid.isEmpty,
                    words[6].isEmpty || (Int64(words[6]).map { $0 > 0 } ?? false)
                else { return (false, Self.factorUsage) }
                let now = Int64(time(nil))
                let secret = try store.addAppPassword(
                    user: user, name: name, protocols: protocols, networks: networks,
                    expires: Int64(words[6]).map { now + $0 }, now: now, group: nil)
                log.info(AuthLogFormat.category, "adm: app password '\(AuthLogFormat.sanitize(name))' added for \(who)")
                return (true, secret)
            case ("app-password", "list", 3):
                let factors = try store.allFactors()[user] ?? UserFactors()
                return (true, factors.listing(now: Int64(time(nil))).joined(separator: "\n"))
            case ("app-password", "revoke", 4):
                guard try store.revokeAppPassword(user: user, name: words[3], group: nil) else {
                    return (false, "\(user) has no app password named \(words[3])")
                }
                log.info(
                    AuthLogFormat.category, "adm: app password '\(AuthLogFormat.sanitize(words[3]))' revoked for \(who)")
                return (true, "revoked: \(words[3])")
            default:
                return (false, Self.factorUsage)
            }
        } catch {
            return (false, "\(error)")
        }
    }
}

extension UserFactors {
    /// `aerie adm app-password list`: TOTP on or off, then one line per app password (never a secret).
    public func listing(now: Int64) -> [String] {
        var lines = ["TOTP: \(totp.map { "on (\($0.algorithm.rawValue))" } ?? "off")"]
        for app in appPasswords {
            let protocols = app.protocols.isEmpty ? "all" : app.protocols.joined(separator: ",")
            let networks = app.networks.isEmpty ? "any" : app.networks.joined(separator: ",")
            let expiry =
                app.expires.map { $0 <= now ? "expired" : "expires in \(($0 - now + 3599) / 3600) h" } ?? "no expiry"
            lines.append("\(app.name)\tprotocols=\(protocols)\tnets=\(networks)\t\(expiry)")
        }
        return lines
    }
}
