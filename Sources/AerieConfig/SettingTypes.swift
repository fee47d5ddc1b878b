/// The type of a setting, deciding how its text is validated and how it is printed back.
enum SettingType: Sendable, Equatable {
    case string
    /// A string that uses %{variables}; 2.3 one-letter %u style is translated with a warning.
    case variableString
    case bool
    case uint(max: UInt64)
    case size
    case duration
    case enumeration([String])
    /// Space- or comma-separated words, e.g. `auth_mechanisms = plain login`.
    case list
    /// Dovecot 2.4 boolean list: `mail_plugins = quota acl` or `mail_plugins { quota = yes }`.
    case boolList
    case port
    case octal
    /// A path to a file read by the server (2.3 `<path` is accepted with a warning).
    case file
    case cipherList
    case cipherSuites
    /// auth_verbose_passwords: no | plain | sha1, optionally `:N` truncation.
    case passwordLogging
}

/// A typed setting value; one representation for every setting so the value store stays uniform.
enum SettingValue: Sendable, Equatable {
    case string(String)
    case bool(Bool)
    case number(UInt64)
    /// A file mode, printed back in octal as written (`0600`).
    case mode(UInt64)
    case size(UInt64)
    case duration(Duration)
    case list([String])
    /// Ordered keys of a boolean list with their yes/no state.
    case boolList([BoolListEntry])

    var stringValue: String {
        switch self {
        case .string(let s): return s
        case .bool(let b): return b ? "yes" : "no"
        case .mode(let n):
            let digits = String(n, radix: 8)
            return String(repeating: "0", count: max(1, 4 - digits.count)) + digits
        case .number(let n): return n == ValueParser.unlimited ? "unlimited" : String(n)
        case .size(let n): return ValueParser.format(size: n)
        case .duration(let d): return ValueParser.format(d)
        case .list(let l): return l.joined(separator: " ")
        case .boolList(let l): return l.filter(\.enabled).map(\.name).joined(separator: " ")
        }
    }
}

struct BoolListEntry: Sendable, Equatable {
    var name: String
    var enabled: Bool
}

/// One known setting: its 2.4 name, type and the default Aerie uses when the file says nothing.
struct SettingDef: Sendable {
    var name: String
    var type: SettingType
    var defaultText: String
    /// Set for settings that exist in 2.3 but were removed in 2.4: accepted, with this hint as a warning.
    var removedIn24: String? = nil

    init(_ name: String, _ type: SettingType, _ defaultText: String = "", removedIn24: String? = nil) {
        self.name = name
        self.type = type
        self.defaultText = defaultText
        self.removedIn24 = removedIn24
    }
}

/// A set of definitions for one scope (global, service, listener, passdb ...), looked up by name.
struct SettingTable: Sendable {
    let defs: [String: SettingDef]
    let ordered: [SettingDef]
    /// Prefix Dovecot 2.4 allows in front of names in this scope (e.g. `service_process_limit`).
    let prefixes: [String]

    init(_ list: [SettingDef], prefixes: [String] = []) {
        var d: [String: SettingDef] = [:]
        for def in list { d[def.name] = def }
        defs = d
        ordered = list
        self.prefixes = prefixes
    }

    /// Finds a definition by its name or by the name with one of the scope's prefixes stripped.
    func lookup(_ key: String) -> SettingDef? {
        if let d = defs[key] { return d }
        for p in prefixes where key.hasPrefix(p) {
            if let d = defs[String(key.dropFirst(p.count))] { return d }
        }
        return nil
    }

    var names: [String] { ordered.map(\.name) }
}
