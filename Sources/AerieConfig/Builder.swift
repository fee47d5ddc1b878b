import Foundation

/// Walks the parsed tree, types every value, applies renames and filters, and fills AerieSettings.
struct Builder {
    var diags: DiagnosticSink
    var parser: Parser
    var settings: AerieSettings
    var sawService = false
    /// Where each global setting was last set, with its trailing comment; audits point here.
    var setAt: [String: (loc: SourceLocation, comment: String?)] = [:]
    var warnedPlugin = false
    /// auth_worker_max_count (removed in 2.4) is mapped to service auth-worker { process_limit } after the walk.
    var authWorkerMax: (Int, SourceLocation)? = nil
    /// Inside a service Aerie does not run, whose section was already reported as a whole.
    var quietSupport = false
    /// `fields { }` of the passdb/userdb section being read, as written.
    var fieldTemplates: [String: String] = [:]
    /// `ConfigLoadOptions.checksSupport`.
    var checksSupport = true
    /// The protocol whose `protocol NAME { }` filter is being read (passdbs and userdbs there apply to it only).
    var currentProtocol: String? = nil
    /// Where each `service aerie-admin { inet_listener NAME }` was written (its checks need the whole file).
    var adminListenersAt: [String: SourceLocation] = [:]

    init(parser: Parser) {
        self.parser = parser
        self.diags = parser.diags
        self.settings = ConfigLoader.baseDefaults
    }

    static let sectionKinds = ["service", "passdb", "userdb", "namespace", "protocol", "local", "remote", "local_name", "plugin"]

    // MARK: global scope

    mutating func walkGlobal(_ entries: [Entry]) {
        for e in entries {
            switch e {
            case .setting(let key, let raw, let loc, let comment):
                for (k, v) in assignments(key: key, raw: raw, loc: loc, context: nil) {
                    settings.apply(k, v)
                    settings.explicit.insert(k)
                    setAt[k] = (loc, comment)
                }
            case .block(let b):
                walkGlobalBlock(b)
            }
        }
    }

    mutating func walkGlobalBlock(_ b: Block) {
        switch b.kind {
        case "service": sawService = true; buildService(b)
        case "passdb": buildPassDB(b)
        case "userdb": buildUserDB(b)
        case "namespace": buildNamespace(b)
        case "pgsql": buildPgsql(b)
        case "protocol": buildProtocol(b)
        case "local", "remote", "local_name": buildConnectionFilter(b)
        case "plugin":
            if !warnedPlugin {
                diags.warning(b.loc, "plugin { } is Dovecot 2.3 syntax; in Dovecot 2.4 plugin settings are plain global settings")
                warnedPlugin = true
            }
            walkGlobal(b.entries)
        default:
            if let def = Registry.global.lookup(b.kind), def.type == .boolList, b.name == nil {
                let updated = boolListBlock(b, current: settings.store[def.name])
                settings.apply(def.name, updated)
                settings.explicit.insert(def.name)
                setAt[def.name] = (b.loc, nil)
            } else if Registry.prefixFilters.contains(b.kind) {
                checkSectionKind(b)
                buildPrefixFilter(b, applyGlobally: b.name == nil)
            } else if case .notImplemented? = Support.sections[b.kind] {
                checkSectionKind(b)
            } else {
                let names = Self.sectionKinds + Array(Registry.prefixFilters) + ["mail_plugins"]
                diags.error(b.loc, Validation.unknownMessage(b.kind, kind: "section", among: names))
            }
        }
    }

    /// `mail_plugins { quota = yes  acl = no }` updates a boolean list entry by entry.
    mutating func boolListBlock(_ b: Block, current: SettingValue?) -> SettingValue {
        var list: [BoolListEntry] = []
        if case .boolList(let l)? = current { list = l }
        for e in b.entries {
            switch e {
            case .setting(let k, let raw, let loc, _):
                guard let on = ValueParser.bool(raw.text) else {
                    diags.error(loc, "Invalid boolean for \(b.kind) { \(Lexer.preview(k)) }: '\(Lexer.preview(raw.text))' (valid values: yes, no)")
                    continue
                }
                if let i = list.firstIndex(where: { $0.name == k }) { list[i].enabled = on } else { list.append(BoolListEntry(name: k, enabled: on)) }
            case .block(let inner):
                diags.error(inner.loc, "Sections are not allowed inside \(b.kind) { }")
            }
        }
        if b.kind == "mail_plugins" {
            let named = Set(b.entries.compactMap { if case .setting(let k, _, _, _) = $0 { k } else { nil } })
            checkPlugins(list.filter { named.contains($0.name) }, loc: b.loc)
        }
        return .boolList(list)
    }

    // MARK: typing one assignment

    /// Resolves renames, references and `<file`, then types the value. `context` holds protocol overrides so far.
    mutating func assignments(key: String, raw: RawValue, loc: SourceLocation, context: [Override]?) -> [(String, SettingValue)] {
        if let action = Renames.global[key] {
            guard let text = valueText(key: key, raw: raw, loc: loc, context: context, keepFileMarker: true) else { return [] }
            switch Renames.apply(key, action, value: text) {
            case .failure(let f):
                diags.error(loc, f.message)
                return []
            case .success(let outcome):
                diags.warning(loc, outcome.warning)
                var out: [(String, SettingValue)] = []
                for a in outcome.assignments {
                    if let v = typedGlobal(a.key, a.value, loc: loc) {
                        out.append((a.key, v))
                        checkGlobal(a.key, v, loc: loc)
                    }
                }
                return out
            }
        }
        guard let def = Registry.global.lookup(key) else {
            diags.error(loc, Validation.unknownMessage(key, among: Registry.global.names + Array(Renames.global.keys)))
            return []
        }
        if let note = def.removedIn24 { diags.warning(loc, "\(def.name): \(note)") }
        guard let text = valueText(key: def.name, raw: raw, loc: loc, context: context, keepFileMarker: def.type == .file) else { return [] }
        guard let v = typedGlobal(def.name, text, loc: loc) else { return [] }
        if def.name == "auth_worker_max_count", case .number(let n) = v { authWorkerMax = (Int(clamping: n), loc) }
        checkGlobal(def.name, v, loc: loc)
        return [(def.name, v)]
    }

    mutating func typedGlobal(_ key: String, _ text: String, loc: SourceLocation) -> SettingValue? {
        guard let def = Registry.global.lookup(key) else {
            diags.error(loc, Validation.unknownMessage(key, among: Registry.global.names))
            return nil
        }
        return typed(def, text, loc: loc)
    }

    /// Types a value for any scope's definition, translating 2.3 %variables where the setting uses them.
    mutating func typed(_ def: SettingDef, _ text: String, loc: SourceLocation) -> SettingValue? {
        var text = text
        if def.type == .file, text.hasPrefix("<") {
            text = String(text.dropFirst()).trimmingSpaces()
            diags.warning(loc, "\(def.name) takes a path in Dovecot 2.4; the 2.3 '<' prefix is dropped (\(def.name) = \(text))")
        }
        if def.type == .variableString, let translated = Renames.translateVariables(text) {
            diags.warning(loc, "\(def.name) uses Dovecot 2.3 %variables; Dovecot 2.4 syntax is \(def.name) = \(translated)")
            text = translated
        }
        switch Validation.typed(def, text) {
        case .success(let v): return v
        case .failure(let f):
            diags.error(loc, f.message)
            return nil
        }
    }

    /// The value text after `<file` reading and `$name` / `$SET:name` / `$ENV:name` expansion.
    mutating func valueText(key: String, raw: RawValue, loc: SourceLocation, context: [Override]?, keepFileMarker: Bool) -> String? {
        if raw.quoted { return raw.text }
        if let path = raw.filePath {
            if keepFileMarker { return raw.text }
            let full = Parser.resolve(path, relativeTo: loc.file)
            switch parser.readFile(full) {
            case .success(let content):
                var c = Substring(content)
                while c.last == "\n" || c.last == "\r" { c = c.dropLast() }  // a file's final newline is not part of the value
                return String(c)
            case .failure(let message):
                diags.error(loc, "\(key) = <\(path): \(message)")
                return nil
            }
        }
        guard raw.text.contains("$") else { return raw.text }
        return expand(raw.text, key: key, loc: loc, context: context)
    }

    mutating func currentValue(_ name: String, context: [Override]?) -> String? {
        if let o = context?.last(where: { $0.key == name }) { return o.value.stringValue }
        return settings.store[name]?.stringValue
    }

    mutating func expand(_ s: String, key: String, loc: SourceLocation, context: [Override]?) -> String? {
        let trimmed = s.trimmingSpaces()
        if trimmed == "$" + key || trimmed == "$SET:" + key {
            let ref = trimmed.hasPrefix("$SET:") ? "" : " (and Dovecot 2.4 only expands $SET:\(key))"
            diags.warning(loc, "\(key) = \(trimmed) is a no-op: it sets \(key) to its own current value\(ref)")
        }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            guard s[i] == "$" else { out.append(s[i]); i = s.index(after: i); continue }
            let start = s.index(after: i)
            var j = start
            while j < s.endIndex, s[j].isASCII, s[j].isLetter || s[j].isNumber || s[j] == "_" { j = s.index(after: j) }
            let word = String(s[start..<j])
            if (word == "SET" || word == "ENV"), j < s.endIndex, s[j] == ":" {
                var k = s.index(after: j)
                let nameStart = k
                while k < s.endIndex, s[k].isASCII, s[k].isLetter || s[k].isNumber || s[k] == "_" { k = s.index(after: k) }
                let name = String(s[nameStart..<k])
                if word == "ENV" {
                    out += ProcessInfo.processInfo.environment[name] ?? ""
                } else if let v = currentValue(name, context: context) {
                    out += v
                } else {
                    diags.error(loc, Validation.unknownMessage(name, kind: "setting in $SET:", among: Registry.global.names))
                    return nil
                }
                i = k
                continue
            }
            if !word.isEmpty, Registry.global.lookup(word) != nil, let v = currentValue(word, context: context) {
                if trimmed != "$" + key {
                    diags.warning(loc, "$\(word) is Dovecot 2.3 reference syntax; Dovecot 2.4 only expands $SET:\(word)")
                }
                out += v
                i = j
                continue
            }
            out.append("$")  // not a reference: keep the dollar literally (e.g. inside a password)
            i = start
        }
        return out.trimmingSpaces()
    }

    // MARK: filters

    mutating func buildProtocol(_ b: Block) {
        guard let name = b.name else {
            diags.error(b.loc, "protocol section needs a protocol name, e.g. protocol imap { }")
            return
        }
        guard let support = Support.protocols[name] else {
            diags.error(b.loc, Validation.unknownMessage(name, kind: "protocol", among: Array(Support.protocols.keys)))
            return
        }
        report(support, "protocol \(name) { }", loc: b.loc, isDefault: false)
        quietSupport = support != .enforced  // its settings are as meaningless as the protocol
        defer { quietSupport = false }
        var overrides: [Override] = []
        var record = SectionRecord(kind: "protocol", name: name)
        for e in b.entries {
            switch e {
            case .setting(let key, let raw, let loc, _):
                for (k, v) in assignments(key: key, raw: raw, loc: loc, context: overrides) {
                    overrides.append(Override(key: k, value: v))
                    record.values.append((k, Dump.format(v)))
                    if Support.global[k] == .enforced, Support.perProtocol[name]?.contains(k) == false {
                        report(.notImplemented("Aerie applies it to every protocol; set it at the top level"),
                               "\(k) inside protocol \(name) { }", loc: loc, isDefault: false)
                    }
                }
            case .block(let inner):
                if let def = Registry.global.lookup(inner.kind), def.type == .boolList, inner.name == nil {
                    let current = overrides.last(where: { $0.key == def.name })?.value ?? settings.store[def.name]
                    let v = boolListBlock(inner, current: current)
                    overrides.append(Override(key: def.name, value: v))
                    record.values.append((def.name, Dump.format(v)))
                } else if ["passdb", "userdb"].contains(inner.kind) {
                    currentProtocol = name
                    inner.kind == "passdb" ? buildPassDB(inner) : buildUserDB(inner)
                    currentProtocol = nil
                } else {
                    diags.error(inner.loc, "Section '\(Lexer.preview(inner.kind))' is not supported inside protocol \(name) { }")
                }
            }
        }
        settings.protocolFilters.append((name, overrides))
        settings.otherSections.append(record)
    }

    /// local/remote/local_name filters are not applied per connection yet, so they are refused (see `Support`).
    mutating func buildConnectionFilter(_ b: Block) {
        guard let name = b.name else {
            diags.error(b.loc, "\(b.kind) filter needs an address or name, e.g. \(b.kind) 10.0.0.0/8 { }")
            return
        }
        checkSectionKind(b)
        settings.otherSections.append(connectionRecord(b, name: name))
    }

    mutating func connectionRecord(_ b: Block, name: String) -> SectionRecord {
        var record = SectionRecord(kind: b.kind, name: name)
        var context: [Override] = []
        for e in b.entries {
            switch e {
            case .setting(let key, let raw, let loc, _):
                for (k, v) in assignments(key: key, raw: raw, loc: loc, context: context) {
                    context.append(Override(key: k, value: v))
                    record.values.append((k, Dump.format(v)))
                }
            case .block(let inner):
                if ["local", "remote", "local_name", "protocol"].contains(inner.kind), let n = inner.name {
                    record.children.append(connectionRecord(inner, name: n))
                } else {
                    diags.error(inner.loc, "Section '\(Lexer.preview(inner.kind))' is not supported inside \(b.kind) { }")
                }
            }
        }
        return record
    }

    /// Named filters like `auth_policy { server_url = x }` (= auth_policy_server_url) or `quota "User quota" { }`.
    mutating func buildPrefixFilter(_ b: Block, applyGlobally: Bool) {
        var record = SectionRecord(kind: b.kind, name: b.name)
        for e in b.entries {
            switch e {
            case .setting(let key, let raw, let loc, let comment):
                let full = Registry.global.lookup(b.kind + "_" + key) != nil ? b.kind + "_" + key : key
                for (k, v) in assignments(key: full, raw: raw, loc: loc, context: nil) {
                    record.values.append((k.hasPrefix(b.kind + "_") ? String(k.dropFirst(b.kind.count + 1)) : k, Dump.format(v)))
                    if applyGlobally {
                        settings.apply(k, v)
                        settings.explicit.insert(k)
                        setAt[k] = (loc, comment)
                    }
                }
            case .block(let inner):
                diags.error(inner.loc, "Section '\(Lexer.preview(inner.kind))' is not supported inside \(b.kind) { }")
            }
        }
        if !applyGlobally { settings.otherSections.append(record) }
    }
}
