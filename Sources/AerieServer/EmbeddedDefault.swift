import AerieAuth

#if canImport(Glibc)
    import Glibc
#endif

/// `aerie serve` with no configuration: a data folder with a certificate, a demo user and a config file,
/// all on loopback ports above 1024, so a newcomer sees a working (and still TLS-only-auth) server in one command.
public enum EmbeddedDefault {
    public struct Prepared: Sendable {
        public var configPath: String
        /// Set only on the first run, when the demo user was created; printed once and never stored in clear.
        public var demoPassword: String?
        /// What the newcomer should know, e.g. that `nobody` stands in for a missing dedicated user.
        public var notes: [String] = []
    }

    public static let imapPort = 1143
    public static let imapsPort = 1993

    public static func prepare(dataDirectory: String) throws -> Prepared {
        let data = absolute(dataDirectory)
        let configPath = data + "/aerie.conf"
        if SecureFile.exists(configPath) {
            return Prepared(configPath: configPath, demoPassword: nil)
        }
        let account = try mailAccount()
        let loginUser = loginAccountName()
        var notes: [String] = []
        if Privileges.isRoot {
            if account.name == "nobody" { notes.append("no vmail user: mail and auth run as nobody (create vmail)") }
            if loginUser == "nobody" {
                notes.append("no dovenull user: the login process runs as nobody, chrooted (create dovenull)")
            }
        }
        try SecureFile.makeDirectory(data)
        try SecureFile.makeDirectory(data + "/tls")
        try SecureFile.makeDirectory(data + "/run")
        try SecureFile.makeDirectory(data + "/mail")
        if !SecureFile.exists(data + "/tls/key.pem") {
            try SelfSignedCertificate.generate(in: data + "/tls")
        }
        let password = randomPassword()
        let hash = try PasswordSchemes.hash(password: password, scheme: "ARGON2ID")
        try SecureFile.createExclusive(
            path: data + "/users",
            contents: "demo:\(hash):\(account.uid):\(account.gid)::\(data)/mail/demo::\n", mode: 0o600)
        try SecureFile.createExclusive(
            path: configPath, contents: configText(data: data, account: account, loginUser: loginUser), mode: 0o600)
        if Privileges.isRoot {
            // After the privilege drop the server re-reads users and certificates as this account.
            for path in [data, data + "/tls", data + "/tls/key.pem", data + "/tls/cert.pem", data + "/run", data + "/mail",
                data + "/users", configPath]
            {
                try SecureFile.chown(path, uid: account.uid, gid: account.gid)
            }
        }
        return Prepared(configPath: configPath, demoPassword: password, notes: notes)
    }

    /// Root drops to `vmail` (or `nobody` where there is none); anyone else serves as themselves.
    static func mailAccount() throws -> ServiceAccount {
        if Privileges.isRoot {
            if let account = try? ServiceAccount.lookup(user: "vmail", group: "") { return account }
            return try ServiceAccount.lookup(user: "nobody", group: "")
        }
        let uid = getuid()
        let name = getpwuid(uid).flatMap { String(validatingCString: $0.pointee.pw_name) } ?? String(uid)
        return ServiceAccount(name: name, uid: uid, gid: getgid())
    }

    /// As root the login process runs as `dovenull`, or `nobody` where there is none; anyone else runs it as
    /// themselves.
    static func loginAccountName() -> String? {
        guard Privileges.isRoot else { return nil }
        return getpwnam("dovenull") != nil ? "dovenull" : "nobody"
    }

    static func configText(data: String, account: ServiceAccount, loginUser: String? = nil) -> String {
        var lines = [
            "# Aerie embedded default, written on first start. Edit freely; `aerie conf check -c \(data)/aerie.conf` checks it.",
            "protocols = imap",
            "listen = 127.0.0.1",
            "base_dir = \(data)/run",
            "log_path = /dev/stderr",
            "log_timestamp = \"%Y-%m-%d %H:%M:%S \"",
            "ssl_server_cert_file = \(data)/tls/cert.pem",
            "ssl_server_key_file = \(data)/tls/key.pem",
            "auth_mechanisms = plain login",
            "mail_driver = maildir",
            "mail_path = ~/Maildir",
        ]
        if Privileges.isRoot {
            lines.append("mail_uid = \(account.name)")
            // The demo's users file lives in the mail account's 0700 data folder: its auth process runs as it too.
            lines.append("default_internal_user = \(account.name)")
            if let loginUser { lines.append("default_login_user = \(loginUser)") }
        }
        if account.uid < 500 {
            // Only to let a low-uid local account run the demo; an explicit, warned-about choice.
            lines.append("first_valid_uid = \(max(1, account.uid))")
        }
        lines += [
            "",
            "passdb passwd-file {",
            "  passwd_file_path = \(data)/users",
            "}",
            "userdb passwd-file {",
            "  passwd_file_path = \(data)/users",
            "}",
            "",
            "service imap-login {",
            "  inet_listener imap {",
            "    port = \(imapPort)",
            "  }",
            "  inet_listener imaps {",
            "    port = \(imapsPort)",
            "    ssl = yes",
            "  }",
            "}",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let pointer = getcwd(nil, 0) else { return path }
        defer { free(pointer) }
        let cwd = String(validatingCString: pointer) ?? "."
        let trimmed = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
        return cwd + "/" + trimmed
    }
}
