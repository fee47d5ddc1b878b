import Foundation

/// doveconf-style output: `key = value` lines, then nested sections.
enum Dump {
    /// Prints a typed value; quotes it when re-reading would otherwise change it.
    static func format(_ v: SettingValue) -> String {
        switch v {
        case .list(let l) where l.contains("*") || l.contains("::"): return quote(l.joined(separator: ", "))
        default: return quote(v.stringValue)
        }
    }

    static func quote(_ s: String) -> String {
        let needs = s.first == " " || s.last == " " || s.contains("#") || s.contains("\"") || s.hasPrefix("<")
            || s.hasPrefix("'") || s.contains("\n") || s.contains("\\") && s.hasPrefix("\"")
        guard needs else { return s }
        var out = "\""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    /// Secrets (`ldap_auth_dn_password`, `ssl_server_key_password`, `oauth2_client_secret`) are not printed, as
    /// doveconf does not.
    static func hidden(_ key: String, _ value: String) -> String? {
        (key.hasSuffix("_password") || key.hasSuffix("_secret")) && !value.isEmpty ? "# hidden" : nil
    }

    static func render(_ s: AerieSettings, nonDefaultOnly: Bool) -> String {
        var lines: [String] = []
        let defaults = ConfigLoader.baseDefaults.store
        for key in s.store.keys.sorted() {
            guard let v = s.store[key] else { continue }
            if nonDefaultOnly && (!s.explicit.contains(key) || defaults[key] == v) { continue }
            let def = Registry.global.lookup(key)
            if !nonDefaultOnly, def?.removedIn24 != nil, !s.explicit.contains(key) { continue }  // don't advertise removed names
            lines.append("\(key) = \(hidden(key, v.stringValue) ?? format(v))")
        }
        var records = s.sectionRecords
        if !nonDefaultOnly && !s.services.isEmpty && !records.contains(where: { $0.kind == "service" }) {
            records += s.services.map(serviceRecord)
        }
        for r in records + s.otherSections { render(r, indent: "", into: &lines) }
        return lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
    }

    static func render(_ r: SectionRecord, indent: String, into lines: inout [String]) {
        let name = r.name.map { " " + quoteName($0) } ?? ""
        lines.append("\(indent)\(r.kind)\(name) {")
        for (k, v) in r.values { lines.append("\(indent)  \(k) = \(hidden(k, v) ?? v)") }
        for c in r.children { render(c, indent: indent + "  ", into: &lines) }
        lines.append("\(indent)}")
    }

    /// Section names with spaces or quotes (mailbox "Sent Messages") must be quoted to re-read.
    static func quoteName(_ n: String) -> String {
        guard n.contains(where: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "#" || $0 == "{" }) else { return n }
        return "\"" + n.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func serviceRecord(_ svc: ServiceSettings) -> SectionRecord {
        var r = SectionRecord(kind: "service", name: svc.name)
        for l in svc.inetListeners {
            var c = SectionRecord(kind: "inet_listener", name: l.name)
            if let a = l.address { c.values.append(("address", a.joined(separator: ", "))) }
            if let p = l.port { c.values.append(("port", String(p))) }
            c.values.append(("ssl", l.ssl ? "yes" : "no"))
            r.children.append(c)
        }
        return r
    }
}
