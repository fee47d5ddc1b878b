/// Applies the `Support` table while the file is read: not implemented is an error at FILE:LINE unless the value
/// is the default; no effect is a warning that names the reason.
extension Builder {
    /// Whether `value` is what the setting is when the file says nothing.
    static func isDefault(_ def: SettingDef, _ value: SettingValue) -> Bool {
        if case .success(let d) = Validation.typed(def, def.defaultText), d == value { return true }
        guard def.defaultText.isEmpty else { return false }
        switch value {
        case .string(let s): return s.isEmpty
        case .list(let l): return l.isEmpty
        case .boolList(let l): return !l.contains(where: \.enabled)
        default: return false
        }
    }

    mutating func report(_ support: SettingSupport?, _ what: String, loc: SourceLocation, isDefault: Bool) {
        guard checksSupport, !quietSupport else { return }
        switch support {
        case .enforced?: break
        case .noEffect(let reason)?: diags.warning(loc, "\(what) has no effect in Aerie: \(reason)")
        case .notImplemented(let hint)?:
            if !isDefault { diags.error(loc, "\(what) is not supported by Aerie yet (\(hint))") }
        case nil:
            if !isDefault { diags.error(loc, "\(what) is not supported by Aerie yet") }
        }
    }

    /// A global setting (at top level, in a protocol filter, or inside a section), with its value-level entries.
    mutating func checkGlobal(_ key: String, _ value: SettingValue, loc: SourceLocation) {
        guard let def = Registry.global.lookup(key) else { return }
        report(Support.global[def.name], def.name, loc: loc, isDefault: Self.isDefault(def, value))
        switch (def.name, value) {
        case ("mail_driver", .string(let driver)) where !driver.isEmpty:
            report(Support.mailDrivers[driver.lowercased()], "mail_driver = \(driver)", loc: loc, isDefault: false)
        case ("mailbox_list_layout", .string(let layout)):
            report(Support.mailboxListLayouts[layout], "mailbox_list_layout = \(layout)", loc: loc, isDefault: false)
        case ("auth_mechanisms", .list(let mechanisms)):
            for m in mechanisms {
                report(Support.authMechanisms[m.lowercased()], "auth_mechanisms = \(m)", loc: loc, isDefault: false)
            }
        case ("protocols", .list(let protocols)):
            for p in protocols where !["imap", "pop3", "lmtp"].contains(p) {
                report(.notImplemented("Aerie serves imap, pop3 and lmtp"), "protocols = \(p)", loc: loc,
                       isDefault: false)
            }
        case ("mail_plugins", .boolList(let plugins)):
            checkPlugins(plugins, loc: loc)
        case ("dovecot_config_version", .string(let v)) where !v.isEmpty:
            if checksSupport, !(v == "2.4" || v.hasPrefix("2.4.")) {
                diags.error(loc, "dovecot_config_version = \(Lexer.preview(v)): Aerie reads Dovecot 2.4 configuration "
                            + "(write 2.4.0 once the file uses 2.4 names)")
            }
        default: break
        }
    }

    mutating func checkPlugins(_ plugins: [BoolListEntry], loc: SourceLocation) {
        for p in plugins where p.enabled {
            report(Support.mailPlugins[p.name] ?? .notImplemented("leave it out of mail_plugins"),
                   "mail_plugins: \(p.name)", loc: loc, isDefault: false)
        }
    }

    /// A setting of a section's own table (service, listener, passdb, userdb, namespace, mailbox).
    mutating func checkSection(kind: String, section: String?, _ def: SettingDef, _ value: SettingValue,
                               loc: SourceLocation) {
        let support = kind == "service" ? Support.serviceSetting(def.name, service: section ?? "")
            : Support.scope(kind)[def.name]
        report(support, "\(kind) { \(def.name) }", loc: loc, isDefault: Self.isDefault(def, value))
        if checksSupport, kind == "namespace", def.name == "type", value != .string("private") {
            diags.error(loc, "namespace { type = \(value.stringValue) } is not supported by Aerie yet "
                        + "(Aerie serves each user's own mailboxes only; shared and public namespaces come later)")
        }
    }

    /// A section kind, e.g. `quota "User quota" { }` or `remote 10.0.0.0/8 { }`.
    mutating func checkSectionKind(_ b: Block) {
        let what = b.name.map { "\(b.kind) \($0) { }" } ?? "\(b.kind) { }"
        report(Support.sections[b.kind], what, loc: b.loc, isDefault: false)
    }
}
