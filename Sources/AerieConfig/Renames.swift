/// What to do with a Dovecot 2.3 setting name that Dovecot 2.4 renamed or replaced.
enum RenameAction: Sendable {
    /// Same value under the 2.4 name.
    case same(String)
    /// Boolean with the opposite meaning (disable_plaintext_auth = yes → auth_allow_cleartext = no).
    case invertedBool(String)
    /// 2.3 `<path` (read file) became a plain path in 2.4: strip the `<`.
    case fileToPath(String)
    /// Enumerated value translated through a table.
    case mapValues(String, [String: String])
    /// mail_location = driver:path:KEY=VALUE... split into mail_* settings.
    case mailLocation
    /// 2.3 `acl = vfile:/path` → acl_driver + acl_global_path.
    case aclLocation
    /// A name that never existed in Dovecot; accepted for the named setting, but Dovecot would refuse the file.
    case notDovecot(String)
}

/// The one table of 2.3 → 2.4 renames (global scope). Sources: Dovecot's "Upgrading 2.3 to 2.4" converted settings list.
/// Note: ssl_cipher_list, ssl_min_protocol and auth_username_format kept their names in 2.4 (only the %variable syntax changed).
enum Renames {
    static let global: [String: RenameAction] = [
        "disable_plaintext_auth": .invertedBool("auth_allow_cleartext"),
        "ssl_cert": .fileToPath("ssl_server_cert_file"),
        "ssl_key": .fileToPath("ssl_server_key_file"),
        "ssl_ca": .fileToPath("ssl_server_ca_file"),
        "ssl_alt_cert": .fileToPath("ssl_server_alt_cert_file"),
        "ssl_alt_key": .fileToPath("ssl_server_alt_key_file"),
        "ssl_dh": .fileToPath("ssl_server_dh_file"),
        "ssl_client_cert": .fileToPath("ssl_client_cert_file"),
        "ssl_client_key": .fileToPath("ssl_client_key_file"),
        "ssl_ca_file": .same("ssl_client_ca_file"),
        "ssl_ca_dir": .same("ssl_client_ca_dir"),
        "ssl_key_password": .same("ssl_server_key_password"),
        "ssl_prefer_server_ciphers": .mapValues("ssl_server_prefer_ciphers", ["yes": "server", "no": "client"]),
        "ssl_require_crl": .same("ssl_server_require_crl"),
        "ssl_verify_client_cert": .same("ssl_server_request_client_cert"),
        "ssl_cert_username_field": .same("ssl_server_cert_username_field"),
        "mail_location": .mailLocation,
        "auth_default_realm": .same("auth_default_domain"),
        "default_idle_kill": .same("default_idle_kill_interval"),
        "mail_attachment_dir": .same("mail_ext_attachment_path"),
        "mail_attachment_hash": .same("mail_ext_attachment_hash"),
        "mail_attachment_min_size": .same("mail_ext_attachment_min_size"),
        "quota_grace": .same("quota_storage_grace"),
        "quota_max_mail_size": .same("quota_mail_size"),
        "acl_anyone": .same("imap_acl_allow_anyone"),
        "acl": .aclLocation,
        "event_exporter_transport": .same("event_exporter_driver"),
        "login_failure_delay": .notDovecot("auth_failure_delay"),
    ]

    /// Section-scoped renames: service { service_count, idle_kill }.
    static let service: [String: String] = ["service_count": "restart_request_count", "idle_kill": "idle_kill_interval"]

    struct Outcome {
        var assignments: [(key: String, value: String)]
        var warning: String
    }

    /// Applies a rename to a value; returns the 2.4 assignments and the warning, or an error message.
    static func apply(_ old: String, _ action: RenameAction, value: String) -> Result<Outcome, RenameFailure> {
        switch action {
        case .same(let new):
            return .success(Outcome(assignments: [(new, value)], warning: "\(old) is the Dovecot 2.3 name; Dovecot 2.4 calls it \(new)"))
        case .invertedBool(let new):
            guard let b = ValueParser.bool(value) else {
                return .failure(RenameFailure(message: "Invalid boolean for \(old): '\(Lexer.preview(value))' (valid values: yes, no)"))
            }
            let v = b ? "no" : "yes"
            return .success(Outcome(assignments: [(new, v)],
                                    warning: "\(old) is the Dovecot 2.3 name; Dovecot 2.4 replaced it with \(new) (inverted: \(new) = \(v))"))
        case .fileToPath(let new):
            let path = value.hasPrefix("<") ? String(value.dropFirst()).trimmingSpaces() : value
            return .success(Outcome(assignments: [(new, path)],
                                    warning: "\(old) is the Dovecot 2.3 name; Dovecot 2.4 calls it \(new) and takes the path without '<' (\(new) = \(path))"))
        case .mapValues(let new, let table):
            guard let v = table[value.lowercased()] else {
                return .failure(RenameFailure(message: "Invalid value for \(old): '\(Lexer.preview(value))' (valid values: \(table.keys.sorted().joined(separator: ", ")))"))
            }
            return .success(Outcome(assignments: [(new, v)], warning: "\(old) is the Dovecot 2.3 name; Dovecot 2.4 replaced it with \(new) (\(new) = \(v))"))
        case .notDovecot(let new):
            return .success(Outcome(assignments: [(new, value)],
                                    warning: "\(old) is not a Dovecot setting (neither 2.3 nor 2.4 has it; Dovecot would refuse this file); using it as \(new) = \(value)"))
        case .aclLocation:
            let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
            var a: [(key: String, value: String)] = [("acl_driver", parts.first ?? "")]
            if parts.count > 1 { a.append(("acl_global_path", parts[1])) }
            let text = a.map { "\($0.key) = \($0.value)" }.joined(separator: ", ")
            return .success(Outcome(assignments: a, warning: "acl is the Dovecot 2.3 setting; Dovecot 2.4 splits it into \(text)"))
        case .mailLocation:
            switch splitMailLocation(value) {
            case .failure(let f): return .failure(f)
            case .success(let a):
                let text = a.map { "\($0.key) = \($0.value)" }.joined(separator: ", ")
                return .success(Outcome(assignments: a, warning: "mail_location is the Dovecot 2.3 setting; Dovecot 2.4 splits it into \(text)"))
            }
        }
    }

    struct RenameFailure: Error { var message: String }

    static let mailDrivers: Set<String> = ["maildir", "mbox", "sdbox", "mdbox", "dbox", "imapc", "pop3c", "obox", "virtual", "shared", "fail", "none"]

    /// `maildir:~/Maildir:LAYOUT=fs:INBOX=~/in:INDEX=/x:CONTROL=/y` → mail_driver, mail_path, mailbox_list_layout, ...
    static func splitMailLocation(_ value: String) -> Result<[(key: String, value: String)], RenameFailure> {
        if value.isEmpty { return .success([]) }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let driver = parts[0].lowercased()
        guard mailDrivers.contains(driver) else {
            return .failure(RenameFailure(message: "Unknown mail storage driver '\(Lexer.preview(parts[0]))' in mail_location (valid: \(mailDrivers.sorted().joined(separator: ", ")))"))
        }
        var out: [(key: String, value: String)] = [("mail_driver", driver)]
        if parts.count > 1, !parts[1].isEmpty { out.append(("mail_path", parts[1])) }
        let keys = ["LAYOUT": "mailbox_list_layout", "INBOX": "mail_inbox_path", "INDEX": "mail_index_path",
                    "CONTROL": "mail_control_path", "INDEXPVT": "mail_index_private_path", "ALT": "mail_alt_path",
                    "VOLATILEDIR": "mail_volatile_path"]
        for part in parts.dropFirst(2) where !part.isEmpty {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            let k = kv[0].uppercased()
            if k == "UTF8" { out.append(("mailbox_list_utf8", "yes")); continue }
            guard let key = keys[k], kv.count == 2 else {
                return .failure(RenameFailure(message: "Unsupported mail_location parameter '\(Lexer.preview(part))' (supported: \(keys.keys.sorted().joined(separator: ", ")), UTF8)"))
            }
            var v = kv[1]
            if key == "mailbox_list_layout" { v = v.lowercased() == "maildir++" ? "Maildir++" : v.lowercased() }
            out.append((key, v))
        }
        return .success(out)
    }

    /// 2.3 one-letter %variables and their 2.4 %{...} replacements.
    static let variables: [String: String] = [
        "u": "%{user}", "n": "%{user | username}", "d": "%{user | domain}", "h": "%{home}", "s": "%{protocol}",
        "r": "%{remote_ip}", "l": "%{local_ip}", "a": "%{local_port}", "b": "%{remote_port}", "p": "%{client_pid}",
        "m": "%{mechanism}", "w": "%{password}", "c": "%{secured}",
        "Lu": "%{user | lower}", "Ln": "%{user | username | lower}", "Ld": "%{user | domain | lower}",
        "Uu": "%{user | upper}", "Un": "%{user | username | upper}", "Ud": "%{user | domain | upper}",
    ]

    /// Rewrites 2.3 `%u`-style variables into 2.4 syntax; nil when the value has none.
    static func translateVariables(_ s: String) -> String? {
        guard s.contains("%") else { return nil }
        var out = ""
        var changed = false
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            let next = s.index(after: i)
            guard c == "%", next < s.endIndex else { out.append(c); i = next; continue }
            let n = s[next]
            if n == "{" || n == "%" {  // already 2.4 syntax, or a literal %
                out.append(c); out.append(n); i = s.index(after: next); continue
            }
            let afterN = s.index(after: next)
            if (n == "L" || n == "U"), afterN < s.endIndex, let r = variables[String(n) + String(s[afterN])] {
                out += r; changed = true; i = s.index(after: afterN); continue
            }
            if let r = variables[String(n)] { out += r; changed = true; i = afterN; continue }
            out.append(c); i = next
        }
        return changed ? out : nil
    }
}
