import AerieCore

/// Diagnostics beyond syntax: settings that load fine but do not mean what their author likely thinks.
enum Audit {
    /// Dovecot's built-in port for each plaintext listener name (used when `port` is left out).
    static let plaintextDefaultPorts: [String: Int] = ["imap": 143, "pop3": 110, "submission": 587, "lmtp": 24, "sieve": 4190]

    /// A dict socket only its owner can open locks out mail processes, which run as the mail user.
    static func dictSocket(_ l: UnixListenerSettings, at: SourceLocation, diags: inout DiagnosticSink) {
        guard l.mode & 0o077 == 0 else { return }
        let owner = l.user.isEmpty ? "root" : l.user
        diags.warning(at, "service dict unix_listener \(l.name): mode \(String(l.mode, radix: 8).leftPad(4)) lets only \(owner) connect; "
                      + "mail processes run as the mail user (mail_uid or the userdb uid), so their dict lookups (quota, acl) fail: "
                      + "use mode = 0660 with group = the mail users' group")
    }

    /// Audits that need the whole configuration; run after the walk.
    static func whole(_ b: inout Builder) {
        let s = b.settings
        for listener in s.service(named: AdminListener.service)?.inetListeners ?? [] where (listener.port ?? 0) > 0 {
            guard let at = b.adminListenersAt[listener.name], let problem = AdminListener.problem(s, listener)
            else { continue }
            b.diags.error(at, "service \(AdminListener.service) inet_listener \(listener.name): \(problem)")
        }
        // Only when the author's own comment claims it is about root: 0 is otherwise a legitimate "no limit".
        if s.explicit.contains("last_valid_uid"), s.lastValidUID == 0, let at = b.setAt["last_valid_uid"],
           at.comment?.lowercased().contains("root") == true {
            b.diags.warning(at.loc, "last_valid_uid = 0 means no upper UID limit; it does not disallow root "
                            + "(root is refused by first_valid_uid = \(s.firstValidUID), which must stay above 0)")
        }
        // The login process hands a logged-in connection to the mail process for good: there is no way back to it.
        if s.imapUnauthenticate, s.loginProcess, let at = b.setAt["imap_unauthenticate"] {
            b.diags.error(at.loc, "imap_unauthenticate = yes needs login_process = no: after UNAUTHENTICATE the "
                            + "pre-login commands would be parsed in the mail process, which holds the mail, instead of "
                            + "the confined login process (set login_process = no to offer it)")
        }
        // Dovecot 2.4 refuses every authentication without TLS under ssl = required, whatever this says.
        if b.checksSupport, s.ssl == .required, s.authAllowCleartext, let at = b.setAt["auth_allow_cleartext"] {
            b.diags.warning(at.loc, "auth_allow_cleartext = yes has no effect in Aerie while ssl = required: "
                            + "every authentication needs TLS (as in Dovecot 2.4)")
        }
    }

    /// One line per explicitly set value that weakens a secure default.
    static func securityWarnings(_ s: AerieSettings) -> [String] {
        var out: [String] = []
        var pairs: [(prefix: String, key: String, value: SettingValue)] = []
        for key in s.explicit.sorted() { if let v = s.store[key] { pairs.append(("", key, v)) } }
        for f in s.protocolFilters { for o in f.overrides { pairs.append(("protocol \(f.name): ", o.key, o.value)) } }
        for (prefix, key, value) in pairs {
            // Under ssl = required it weakens nothing: every authentication needs TLS (a config warning says so).
            if key == "auth_allow_cleartext", s.ssl == .required { continue }
            if let m = weakening(key, value) { out.append(prefix + m) }
        }
        for svc in s.services {
            for l in svc.inetListeners where !l.ssl && (l.port ?? 0) > 0 && s.ssl != .required {
                out.append("service \(svc.name) inet_listener \(l.name): port \(l.port!) accepts connections without TLS "
                           + "while ssl = \(s.ssl.rawValue) (set ssl = required)")
            }
        }
        out += ldapWarnings(s)
        out += sqlWarnings(s)
        return out
    }

    /// An `sql` passdb/userdb whose PostgreSQL server is reached over the network without a checked certificate
    /// (`sslmode = verify-ca` / `verify-full`) sends the database password and the users' hashes to whoever
    /// answers; loopback and unix sockets stay on this machine.
    static func sqlWarnings(_ s: AerieSettings) -> [String] {
        guard s.passdbs.contains(where: { $0.driver == "sql" }) || s.userdbs.contains(where: { $0.driver == "sql" })
        else { return [] }
        let host = s.pgsql["pgsql_parameter:host"] ?? s.pgsql["pgsql_host"] ?? "localhost"
        let mode = s.pgsql["pgsql_parameter:sslmode"] ?? "prefer"
        if host.hasPrefix("/") || isLoopback("ldap://" + host) || mode.hasPrefix("verify-") { return [] }
        return ["pgsql \(host): sslmode = \(mode): the database's certificate is not checked, so anyone on the path "
                + "can read the database password and the users' password hashes (use sslmode = verify-full)"]
    }

    /// An `ldap` passdb/userdb whose connection is not TLS sends the service DN's password, users' passwords
    /// (bind) or their hashes (lookup) in cleartext; loopback and ldapi:// stay on this machine.
    static func ldapWarnings(_ s: AerieSettings) -> [String] {
        var out: [String] = []
        let databases = s.passdbs.map { ("passdb", $0.name, $0.driver, $0.ldap) }
            + s.userdbs.map { ("userdb", $0.name, $0.driver, $0.ldap) }
        for (kind, name, driver, section) in databases where driver == "ldap" {
            func value(_ key: String) -> String { section[key] ?? s.value(forKey: key) ?? "" }
            if value("ldap_starttls") != "yes" {
                let uris = value("ldap_uris").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
                for uri in uris where uri.lowercased().hasPrefix("ldap://") && !isLoopback(uri) {
                    out.append("\(kind) \(name): \(uri) without ldap_starttls = yes: passwords cross the network in "
                               + "cleartext (use ldaps:// or ldap_starttls = yes)")
                }
            }
            if value("ssl_client_require_valid_cert") == "no" {
                out.append("\(kind) \(name): ssl_client_require_valid_cert = no: any certificate is accepted, so "
                           + "anyone on the path can read LDAP passwords")
            }
        }
        return out
    }

    private static func isLoopback(_ uri: String) -> Bool {
        let rest = uri.dropFirst("ldap://".count)
        let host =
            rest.hasPrefix("[")
            ? String(rest.prefix { $0 != "]" }.dropFirst()) : String(rest.prefix { $0 != ":" && $0 != "/" })
        return host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }

    private static func weakening(_ key: String, _ v: SettingValue) -> String? {
        switch (key, v) {
        case ("ssl", .string("no")): return "ssl = no: TLS is disabled; passwords and mail cross the network in cleartext"
        case ("ssl", .string("yes")): return "ssl = yes: TLS is optional, clients may stay unencrypted (secure default: ssl = required)"
        case ("auth_allow_cleartext", .bool(true)):
            return "auth_allow_cleartext = yes: cleartext passwords are accepted on unencrypted connections"
        case ("ssl_min_protocol", .string(let p)):
            if let v = TLSProtocolVersion(rawValue: p), v < .tls1_2 { return "ssl_min_protocol = \(p): protocols older than TLSv1.2 are insecure" }
        case ("auth_allow_weak_schemes", .bool(true)):
            return "auth_allow_weak_schemes = yes: weak password hashes (e.g. PLAIN-MD5, CRYPT) are accepted"
        case ("auth_failure_delay", .duration(let d)):
            if d < .seconds(2) { return "auth_failure_delay = \(ValueParser.format(d)): below 2 secs, password guessing is faster" }
        case ("auth_verbose_passwords", .string(let m)):
            if m != "no" { return "auth_verbose_passwords = \(m): failed passwords are written to the log" }
        case ("auth_debug_passwords", .bool(true)): return "auth_debug_passwords = yes: passwords are written to the debug log"
        case ("first_valid_uid", .number(let n)):
            if n < 100 { return "first_valid_uid = \(n): system accounts\(n == 0 ? " including root" : "") may access mail (keep it at 500 or above)" }
        case ("first_valid_gid", .number(0)): return "first_valid_gid = 0: the root group may access mail"
        case ("quota_mail_size", .size(let n)):
            if n == 0 || n == UInt64.max {
                return "quota_mail_size = \(n == 0 ? "0" : "unlimited"): LMTP accepts a message of any size and holds it in memory until it is stored"
            }
        case ("mail_uid", .string(let u)):
            if u == "root" || u == "0" { return "mail_uid = \(u): mail access would run as root" }
        case ("login_trusted_networks", .list(let l)), ("haproxy_trusted_networks", .list(let l)):
            // Any /0 network (however written) trusts a whole address family.
            if let any = CIDRList(l).networks.first(where: { $0.prefixLength == 0 }) {
                return "\(key) contains \(any): every client is trusted"
            }
        case ("ssl_cipher_list", .string(let c)):
            let weak = CipherList.weakParts(in: c)
            if !weak.isEmpty { return "ssl_cipher_list enables weak ciphers: \(weak.joined(separator: ", "))" }
        default: break
        }
        return nil
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
