/// service / passdb / userdb / namespace sections.
extension Builder {
    /// Reads `key = value` lines of a section against its table; 2.4 also allows global settings in any filter.
    mutating func sectionValues(_ b: Block, table: SettingTable, renames: [String: String] = [:],
                                record: inout SectionRecord) -> [(key: String, value: SettingValue, loc: SourceLocation)] {
        var out: [(key: String, value: SettingValue, loc: SourceLocation)] = []
        for case .setting(var key, let raw, let loc, _) in b.entries {
            if let new = renames[key] {
                diags.warning(loc, "\(b.kind) { \(key) } is the Dovecot 2.3 name; Dovecot 2.4 calls it \(new)")
                key = new
            }
            if let def = table.lookup(key) {
                guard let text = valueText(key: def.name, raw: raw, loc: loc, context: nil, keepFileMarker: false) else { continue }
                var t = text
                if def.name == "restart_request_count", t == "0" {
                    t = "unlimited"  // 2.3 service_count = 0 meant unlimited; 0 is an error in 2.4
                }
                guard let v = typed(def, t, loc: loc) else { continue }
                checkSection(kind: b.kind, section: b.name, def, v, loc: loc)
                out.append((def.name, v, loc))
                record.values.append((def.name, Dump.format(v)))
            } else if Registry.global.lookup(key) != nil || Renames.global[key] != nil {
                for (k, v) in assignments(key: key, raw: raw, loc: loc, context: nil) {
                    out.append((k, v, loc))
                    record.values.append((k, Dump.format(v)))
                }
            } else {
                diags.error(loc, Validation.unknownMessage(key, kind: "\(b.kind) setting",
                                                           among: table.names + Array(renames.keys) + Registry.global.names))
            }
        }
        return out
    }

    static func string(_ v: SettingValue) -> String { v.stringValue }

    static func int(_ v: SettingValue) -> Int? {
        switch v {
        case .number(let n), .size(let n): return n >= ValueParser.unlimited ? nil : Int(clamping: n)
        default: return nil
        }
    }

    mutating func buildService(_ b: Block) {
        guard let name = b.name else {
            diags.error(b.loc, "service section needs a name, e.g. service imap-login { }")
            return
        }
        var record = SectionRecord(kind: "service", name: name)
        var svc = settings.services.first { $0.name == name } ?? ServiceSettings(name: name)
        let support = Support.services[name] ?? .notImplemented("Aerie does not run this service")
        report(support, "service \(name) { }", loc: b.loc, isDefault: false)
        quietSupport = support != .enforced
        defer { quietSupport = false }
        for (k, v, _) in sectionValues(b, table: Registry.service, renames: Renames.service, record: &record) {
            switch k {
            case "process_limit": svc.processLimit = Self.int(v)
            case "client_limit": svc.clientLimit = Self.int(v)
            case "process_min_avail": svc.processMinAvail = Self.int(v)
            case "vsz_limit": svc.vszLimit = Self.int(v)
            case "idle_kill_interval": if case .duration(let d) = v { svc.idleKillInterval = d }
            case "user": svc.user = Self.string(v)
            case "group": svc.group = Self.string(v)
            case "chroot": svc.chroot = Self.string(v)
            default: break
            }
        }
        for case .block(let inner) in b.entries {
            guard let lname = inner.name else {
                diags.error(inner.loc, "\(inner.kind) needs a name, e.g. \(inner.kind) imaps { }")
                continue
            }
            var child = SectionRecord(kind: inner.kind, name: lname)
            switch inner.kind {
            case "inet_listener":
                var l = svc.inetListeners.first { $0.name == lname } ?? Self.defaultInetListener(lname)
                var portSet = l.port != nil
                for (k, v, _) in sectionValues(inner, table: Registry.inetListener, record: &child) {
                    switch (k, v) {
                    case ("address", .list(let a)): l.address = a.isEmpty ? nil : a
                    case ("port", .number(let n)): l.port = Int(n); portSet = true
                    case ("ssl", .bool(let x)): l.ssl = x
                    case ("haproxy", .bool(let x)): l.haproxy = x
                    default: break
                    }
                }
                if !portSet, let dovecotPort = Audit.plaintextDefaultPorts[lname] {
                    diags.warning(inner.loc, "inet_listener \(lname) has no port: Dovecot would still listen on its default port \(dovecotPort) "
                                  + "(only port = 0 disables a listener); Aerie opens no plaintext listener without an explicit port")
                }
                svc.inetListeners.removeAll { $0.name == lname }
                svc.inetListeners.append(l)
                if name == AdminListener.service { adminListenersAt[lname] = inner.loc }
            case "unix_listener", "fifo_listener":
                var l = svc.unixListeners.first { $0.name == lname } ?? UnixListenerSettings(name: lname)
                var modeAt: SourceLocation? = nil
                for (k, v, loc) in sectionValues(inner, table: Registry.unixListener, record: &child) {
                    switch (k, v) {
                    case ("mode", .mode(let n)): l.mode = UInt16(n); modeAt = loc
                    case ("user", .string(let s)): l.user = s
                    case ("group", .string(let s)): l.group = s
                    case ("path", .string(let s)): l.path = s
                    default: break
                    }
                }
                if name == "dict", let at = modeAt { Audit.dictSocket(l, at: at, diags: &diags) }
                svc.unixListeners.removeAll { $0.name == lname }
                svc.unixListeners.append(l)
            default:
                diags.error(inner.loc, Validation.unknownMessage(inner.kind, kind: "section inside service",
                                                                 among: ["inet_listener", "unix_listener", "fifo_listener"]))
                continue
            }
            record.children.append(child)
        }
        settings.services.removeAll { $0.name == name }
        settings.services.append(svc)
        settings.sectionRecords.append(record)
    }

    /// imaps/pop3s/submissions default to TLS on their well-known port, as in Dovecot's built-in services.
    static func defaultInetListener(_ name: String) -> InetListenerSettings {
        switch name {
        case "imaps": return InetListenerSettings(name: name, port: 993, ssl: true)
        case "pop3s": return InetListenerSettings(name: name, port: 995, ssl: true)
        case "submissions": return InetListenerSettings(name: name, port: 465, ssl: true)
        default: return InetListenerSettings(name: name)
        }
    }

    /// 2.3 `args = scheme=SHA512-CRYPT username_format=%u /etc/users` → typed fields.
    mutating func parseArgs(_ args: String, driver: String, loc: SourceLocation,
                            path: inout String, scheme: inout String?, fields: inout [String: String]) {
        for token in Validation.splitList(args) {
            if let eq = token.firstIndex(of: "=") {
                let k = String(token[..<eq]), v = String(token[token.index(after: eq)...])
                if k == "scheme" { scheme = v } else { fields[k] = Renames.translateVariables(v) ?? v }
            } else if driver == "passwd-file", path.isEmpty {
                path = token
            } else {
                fields["args", default: ""] += (fields["args"] == nil ? "" : " ") + token
            }
        }
    }

    struct AuthDBSection {
        var name: String, driver: String, path: String, scheme: String?
        var values: [String: SettingValue]
        /// 2.3 `args` leftovers (`key=value` pairs other than scheme and the path).
        var fields: [String: String]
        var defaultFields: [String: String]
        /// `fields { }` and `override_fields`, 2.3 `%` variables translated.
        var overrideFields: [String: String]
    }

    static func fieldList(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for t in Validation.splitList(text) where t.contains("=") {
            let p = t.split(separator: "=", maxSplits: 1).map(String.init)
            let v = p.count > 1 ? p[1] : ""
            out[p[0]] = Renames.translateVariables(v) ?? v
        }
        return out
    }

    mutating func authDB(_ b: Block, table: SettingTable) -> AuthDBSection? {
        var record = SectionRecord(kind: b.kind, name: b.name)
        let values = sectionValues(b, table: table, record: &record)
        var map: [String: SettingValue] = [:]
        for (k, v, _) in values { map[k] = v }
        let driver = map["driver"].map(Self.string) ?? b.name ?? ""
        guard !driver.isEmpty else {
            diags.error(b.loc, "\(b.kind) section needs a driver, e.g. \(b.kind) passwd-file { passwd_file_path = /etc/dovecot/users }")
            return nil
        }
        var path = map["passwd_file_path"].map(Self.string) ?? ""
        var scheme: String? = map["default_password_scheme"].map(Self.string)
        var fields: [String: String] = [:]
        let defaults = map["default_fields"].map { Self.fieldList(Self.string($0)) } ?? [:]
        var overrides = map["override_fields"].map { Self.fieldList(Self.string($0)) } ?? [:]
        // static and prefetch exist as userdbs only.
        let support = b.kind == "passdb" && ["static", "prefetch"].contains(driver)
            ? .notImplemented("use a passwd-file passdb; \(driver) is supported as a userdb")
            : Support.authDrivers[driver]
        report(support, "\(b.kind) driver \(driver)", loc: b.loc, isDefault: false)
        fieldTemplates = [:]
        // An ldap userdb's iterate_fields { user = %{ldap:uid} } (Dovecot 2.4 userdb_ldap_iterate_fields).
        let iterating = b.kind == "userdb" && driver == "ldap"
        for case .block(let inner) in b.entries {
            guard inner.kind == "fields" || (iterating && inner.kind == "iterate_fields"), inner.name == nil else {
                let valid = iterating ? "fields, iterate_fields" : "fields"
                diags.error(
                    inner.loc,
                    "Section '\(Lexer.preview(inner.kind))' is not supported inside \(b.kind) { } (valid: \(valid))")
                continue
            }
            checkSectionKind(inner)
            var child = SectionRecord(kind: inner.kind, name: nil)
            for case .setting(let k, let raw, _, _) in inner.entries {
                if inner.kind == "iterate_fields" {
                    fieldTemplates[Self.iterateFieldPrefix + k] = raw.text
                } else if driver == "ldap" {
                    // An LDAP driver's fields { } map attributes (%{ldap:…}); it reads them itself.
                    fieldTemplates[k] = raw.text
                } else {
                    overrides[k] = Renames.translateVariables(raw.text) ?? raw.text
                }
                child.values.append((k, raw.text))
            }
            record.children.append(child)
        }
        if let args = map["args"].map(Self.string) {
            var s = scheme
            parseArgs(args, driver: driver, loc: b.loc, path: &path, scheme: &s, fields: &fields)
            scheme = s
            if driver == "static" {
                // 2.3 `args = uid=vmail gid=vmail home=/srv/%d/%n` are the static userdb's fields.
                let kept: Set<String> = ["args", "allow_all_users"]
                overrides.merge(fields.filter { !kept.contains($0.key) }) { old, _ in old }
                fields = fields.filter { kept.contains($0.key) }
            }
            for key in fields.keys.sorted() where key != "allow_all_users" {
                let hint = key == "username_format" ? "use auth_username_format" : "leave it out of args"
                report(.notImplemented(hint), "\(b.kind) { args = \(key)=… }", loc: b.loc, isDefault: false)
            }
            var suggested = "\(b.kind) \(driver) {"
            if !path.isEmpty { suggested += " passwd_file_path = \(path)" }
            if let s = scheme { suggested += " default_password_scheme = \(s)" }
            diags.warning(b.loc, "\(b.kind) with driver/args is Dovecot 2.3 syntax; Dovecot 2.4 writes \(suggested) }")
        } else if b.name == nil {
            diags.warning(b.loc, "\(b.kind) without a name is Dovecot 2.3 syntax; Dovecot 2.4 writes \(b.kind) \(driver) { }")
        }
        if !path.isEmpty, !record.values.contains(where: { $0.key == "passwd_file_path" }) { record.values.append(("passwd_file_path", path)) }
        settings.sectionRecords.append(record)
        return AuthDBSection(
            name: b.name ?? driver, driver: driver, path: path, scheme: scheme, values: map, fields: fields,
            defaultFields: defaults, overrideFields: overrides)
    }

    mutating func buildPassDB(_ b: Block) {
        guard let r = authDB(b, table: Registry.passdb) else { return }
        var p = PassDBSettings(name: r.name, driver: r.driver, passwdFilePath: r.path, fields: r.fields)
        p.ldap = Self.ldapValues(r.values)
        p.sql = Self.sqlValues(r.values)
        p.fieldTemplates = fieldTemplates
        if let s = r.scheme { p.defaultPasswordScheme = s }
        if case .bool(let x)? = r.values["deny"] { p.deny = x }
        if case .bool(let x)? = r.values["master"] { p.master = x }
        if case .bool(let x)? = r.values["pass"] { p.pass = x }
        if let v = r.values["result_success"] { p.resultSuccess = Self.string(v) }
        if let v = r.values["result_failure"] { p.resultFailure = Self.string(v) }
        if let v = r.values["result_internalfail"] { p.resultInternalFailure = Self.string(v) }
        if let v = r.values["skip"] { p.skip = Self.string(v) }
        if let v = r.values["username_filter"] { p.usernameFilter = Validation.splitList(Self.string(v)) }
        if case .list(let l)? = r.values["mechanisms"] { p.mechanisms = l }
        p.defaultFields = r.defaultFields
        p.overrideFields = r.overrideFields
        p.protocols = currentProtocol.map { [$0] } ?? []
        settings.passdbs.append(p)
    }

    mutating func buildUserDB(_ b: Block) {
        guard let r = authDB(b, table: Registry.userdb) else { return }
        var u = UserDBSettings(name: r.name, driver: r.driver, passwdFilePath: r.path, fields: r.fields)
        if let v = r.values["result_success"] { u.resultSuccess = Self.string(v) }
        if let v = r.values["result_failure"] { u.resultFailure = Self.string(v) }
        if let v = r.values["result_internalfail"] { u.resultInternalFailure = Self.string(v) }
        if let v = r.values["skip"] { u.skip = Self.string(v) }
        if case .bool(let x)? = r.values["static_allow_all_users"] { u.staticAllowAllUsers = x }
        if let v = r.fields["allow_all_users"] {
            u.staticAllowAllUsers = ["yes", "y", "1", "true"].contains(v.lowercased())
        }
        u.ldap = Self.ldapValues(r.values)
        u.sql = Self.sqlValues(r.values)
        u.fieldTemplates = fieldTemplates
        u.defaultFields = r.defaultFields
        u.overrideFields = r.overrideFields
        u.protocols = currentProtocol.map { [$0] } ?? []
        settings.userdbs.append(u)
    }

    /// How an `iterate_fields { }` entry is kept among an LDAP userdb's `fieldTemplates` (`iterate_fields/user`).
    static let iterateFieldPrefix = "iterate_fields/"

    /// `ldap_*` and `ssl_client_*` settings written inside a passdb/userdb section (they override the global ones).
    static func ldapValues(_ values: [String: SettingValue]) -> [String: String] {
        values.filter { $0.key.hasPrefix("ldap_") || $0.key.hasPrefix("ssl_client_") }.mapValues(\.stringValue)
    }

    /// `query` / `update_query` / `iterate_query` of an `sql` passdb/userdb (also written `passdb_sql_query`,
    /// `passdb_sql_update_query`, `userdb_sql_query`, `userdb_sql_iterate_query`).
    static func sqlValues(_ values: [String: SettingValue]) -> [String: String] {
        var out: [String: String] = [:]
        for key in ["query", "update_query", "iterate_query"] {
            if let v = values[key] ?? values["sql_" + key] { out[key] = v.stringValue }
        }
        return out
    }

    /// `pgsql HOST { parameters { NAME = VALUE … } }` (Dovecot 2.4): the PostgreSQL server the sql drivers use;
    /// the parameters are libpq's connection keywords (dbname, user, password, port, sslmode, sslrootcert, …).
    mutating func buildPgsql(_ b: Block) {
        checkSectionKind(b)
        var record = SectionRecord(kind: b.kind, name: b.name)
        if let host = b.name { settings.pgsql["pgsql_host"] = host }
        for e in b.entries {
            switch e {
            case .setting(let key, _, let loc, _):
                diags.error(
                    loc, "pgsql { \(Lexer.preview(key)) } is not a setting: write it in pgsql HOST { parameters { } }")
            case .block(let inner):
                guard inner.kind == "parameters", inner.name == nil else {
                    diags.error(
                        inner.loc,
                        "Section '\(Lexer.preview(inner.kind))' is not supported inside pgsql { } (valid: parameters)")
                    continue
                }
                var child = SectionRecord(kind: "parameters", name: nil)
                for case .setting(let k, let raw, _, _) in inner.entries {
                    settings.pgsql["pgsql_parameter:" + k] = raw.text
                    child.values.append((k, k == "password" ? "# hidden" : raw.text))
                }
                record.children.append(child)
            }
        }
        settings.otherSections.append(record)
    }

    static let specialUses: Set<String> = ["\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Important", "\\Junk", "\\Sent", "\\Trash"]

    /// Why a namespace `separator` can't be used: it must be one printable ASCII character that can't be part of a
    /// mailbox name's level or a LIST wildcard (RFC 9051 §6.3.9); empty means unset, as in Dovecot.
    static func separatorProblem(_ s: String) -> String? {
        guard !s.isEmpty else { return nil }
        guard s.count == 1, let c = s.unicodeScalars.first, s.unicodeScalars.count == 1 else {
            return "use exactly one character"
        }
        guard c.value > 0x20 && c.value < 0x7F else { return "use a printable ASCII character" }
        if c.properties.isAlphabetic || ("0"..."9").contains(c) {
            return "a letter or digit can't separate hierarchy levels"
        }
        if c == "*" || c == "%" { return "'*' and '%' are LIST wildcards" }
        return nil
    }

    mutating func buildNamespace(_ b: Block) {
        guard let name = b.name else {
            diags.error(b.loc, "namespace section needs a name, e.g. namespace inbox { }")
            return
        }
        var record = SectionRecord(kind: "namespace", name: name)
        var ns = settings.namespaces.first { $0.name == name } ?? NamespaceSettings(name: name)
        var table = Registry.namespace
        table = SettingTable(table.ordered + [SettingDef("location", .string)], prefixes: table.prefixes)
        for (k, v, loc) in sectionValues(b, table: table, record: &record) {
            switch (k, v) {
            case ("inbox", .bool(let x)): ns.inbox = x
            case ("separator", .string(let s)):
                if let problem = Self.separatorProblem(s) {
                    diags.error(loc, "Invalid separator '\(Lexer.preview(s))': \(problem)")
                } else { ns.separator = s }
            case ("prefix", .string(let s)): ns.prefix = s
            case ("location", .string(let s)):
                record.values.removeAll { $0.key == "location" }
                switch Renames.splitMailLocation(s) {
                case .failure(let f): diags.error(loc, f.message)
                case .success(let a):
                    let text = a.map { "\($0.key) = \($0.value)" }.joined(separator: ", ")
                    diags.warning(loc, "namespace { location } is Dovecot 2.3 syntax; Dovecot 2.4 uses \(text) inside the namespace")
                    record.values += a.map { ($0.key, $0.value) }
                }
            default: break
            }
        }
        for case .block(let inner) in b.entries {
            guard inner.kind == "mailbox", let mname = inner.name else {
                diags.error(inner.loc, "Only mailbox NAME { } sections are allowed inside namespace { }")
                continue
            }
            var child = SectionRecord(kind: "mailbox", name: mname)
            var mb = ns.mailboxes.first { $0.name == mname } ?? MailboxSettings(name: mname)
            for (k, v, loc) in sectionValues(inner, table: Registry.mailbox, record: &child) {
                switch (k, v) {
                case ("special_use", .list(let l)):
                    if let bad = l.first(where: { !Self.specialUses.contains($0) }) {
                        diags.error(loc, "Invalid special_use '\(Lexer.preview(bad))' (valid values: \(Self.specialUses.sorted().joined(separator: " ")))")
                    } else { mb.specialUse = l }
                case ("auto", .string(let s)): mb.auto = s
                default: break
                }
            }
            for case .block(let deeper) in inner.entries {
                diags.error(deeper.loc, "Sections are not allowed inside mailbox { }")
            }
            ns.mailboxes.removeAll { $0.name == mname }
            ns.mailboxes.append(mb)
            record.children.append(child)
        }
        settings.namespaces.removeAll { $0.name == name }
        settings.namespaces.append(ns)
        settings.sectionRecords.append(record)
    }
}
