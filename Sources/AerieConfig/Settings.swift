public enum SSLMode: String, Sendable { case no, yes, required }

public enum TLSProtocolVersion: String, Sendable, Comparable {
    case any = "ANY", tls1 = "TLSv1", tls1_1 = "TLSv1.1", tls1_2 = "TLSv1.2", tls1_3 = "TLSv1.3"

    private var rank: Int {
        switch self {
        case .any: return 0
        case .tls1: return 1
        case .tls1_1: return 2
        case .tls1_2: return 3
        case .tls1_3: return 4
        }
    }

    public static func < (lhs: TLSProtocolVersion, rhs: TLSProtocolVersion) -> Bool { lhs.rank < rhs.rank }
}

public struct PassDBSettings: Sendable {
    public var name: String
    public var driver: String
    public var passwdFilePath: String
    public var defaultPasswordScheme: String
    public var deny: Bool
    public var master: Bool
    public var fields: [String: String]
    /// Set when the passdb is inside `protocol NAME { }`: it applies to logins of that protocol only.
    public var protocols: [String] = []
    /// `pass = yes` (master passdbs).
    public var pass = false
    /// `mechanisms`: the SASL mechanisms this passdb serves (`none` = lookups without a login); empty: all.
    public var mechanisms: [String] = []
    /// `username_filter`: wildcards a user must match (`!` before one excludes); empty: everyone.
    public var usernameFilter: [String] = []
    /// `result_success` / `result_failure` / `result_internalfail` / `skip` as written.
    public var resultSuccess = "return-ok", resultFailure = "continue", resultInternalFailure = "continue"
    public var skip = "never"
    /// `default_fields`; `overrideFields` holds `fields { }` and `override_fields`.
    public var defaultFields: [String: String] = [:]
    public var overrideFields: [String: String] = [:]
    /// `ldap_*` / `ssl_client_*` settings given inside the section (`passdb_ldap_bind` is `ldap_bind`).
    public var ldap: [String: String] = [:]
    /// `fields { name = template }` as written (LDAP's attribute mapping).
    public var fieldTemplates: [String: String] = [:]
    /// `query` / `iterate_query` of an `sql` passdb/userdb.
    public var sql: [String: String] = [:]

    public init(name: String, driver: String, passwdFilePath: String = "", defaultPasswordScheme: String = "CRYPT",
                deny: Bool = false, master: Bool = false, fields: [String: String] = [:]) {
        self.name = name; self.driver = driver; self.passwdFilePath = passwdFilePath
        self.defaultPasswordScheme = defaultPasswordScheme; self.deny = deny; self.master = master; self.fields = fields
    }
}

public struct UserDBSettings: Sendable {
    public var name: String
    public var driver: String
    public var passwdFilePath: String
    public var fields: [String: String]
    /// Set when the userdb is inside `protocol NAME { }`: it applies to that protocol only (LMTP for deliveries).
    public var protocols: [String] = []
    public var resultSuccess = "return-ok", resultFailure = "continue", resultInternalFailure = "continue"
    public var skip = "never"
    public var defaultFields: [String: String] = [:]
    /// `fields { }` and `override_fields` (a static userdb's uid/gid/home; 2.3 `args = uid=… gid=…`).
    public var overrideFields: [String: String] = [:]
    /// `static_allow_all_users` (userdb static).
    public var staticAllowAllUsers = false
    /// `ldap_*` / `ssl_client_*` settings given inside the section (`userdb_ldap_filter` is `ldap_filter`).
    public var ldap: [String: String] = [:]
    /// `fields { name = template }` as written (LDAP's attribute mapping).
    public var fieldTemplates: [String: String] = [:]
    /// `query` / `iterate_query` of an `sql` passdb/userdb.
    public var sql: [String: String] = [:]

    public init(name: String, driver: String, passwdFilePath: String = "", fields: [String: String] = [:]) {
        self.name = name; self.driver = driver; self.passwdFilePath = passwdFilePath; self.fields = fields
    }
}

public struct InetListenerSettings: Sendable {
    public var name: String
    /// nil = use the global `listen` addresses.
    public var address: [String]?
    /// nil = not set; Aerie then does not open the listener (Dovecot would use the service's default port).
    public var port: Int?
    public var ssl: Bool
    public var haproxy: Bool

    public init(name: String, address: [String]? = nil, port: Int? = nil, ssl: Bool = false, haproxy: Bool = false) {
        self.name = name; self.address = address; self.port = port; self.ssl = ssl; self.haproxy = haproxy
    }
}

public struct UnixListenerSettings: Sendable {
    public var name: String
    public var path: String
    public var mode: UInt16
    public var user: String
    public var group: String

    public init(name: String, path: String = "", mode: UInt16 = 0o600, user: String = "", group: String = "") {
        self.name = name; self.path = path.isEmpty ? name : path; self.mode = mode; self.user = user; self.group = group
    }
}

public struct ServiceSettings: Sendable {
    public var name: String
    public var inetListeners: [InetListenerSettings]
    public var unixListeners: [UnixListenerSettings]
    public var processLimit: Int?
    public var clientLimit: Int?
    public var processMinAvail: Int?
    public var vszLimit: Int?
    /// `idle_kill_interval`: a per-uid mail process with no session for this long exits (0: never).
    public var idleKillInterval: Duration?
    public var user: String
    public var group: String
    public var chroot: String

    public init(name: String, inetListeners: [InetListenerSettings] = [], unixListeners: [UnixListenerSettings] = [],
                processLimit: Int? = nil, clientLimit: Int? = nil, processMinAvail: Int? = nil, vszLimit: Int? = nil,
                user: String = "", group: String = "", chroot: String = "") {
        self.name = name; self.inetListeners = inetListeners; self.unixListeners = unixListeners
        self.processLimit = processLimit; self.clientLimit = clientLimit; self.processMinAvail = processMinAvail
        self.vszLimit = vszLimit; self.user = user; self.group = group; self.chroot = chroot
    }
}

public struct MailboxSettings: Sendable {
    public var name: String
    public var specialUse: [String]
    public var auto: String

    public init(name: String, specialUse: [String] = [], auto: String = "no") {
        self.name = name; self.specialUse = specialUse; self.auto = auto
    }
}

public struct NamespaceSettings: Sendable {
    public var name: String
    public var inbox: Bool
    public var separator: String
    public var prefix: String
    public var mailboxes: [MailboxSettings]

    public init(name: String, inbox: Bool = false, separator: String = "", prefix: String = "", mailboxes: [MailboxSettings] = []) {
        self.name = name; self.inbox = inbox; self.separator = separator; self.prefix = prefix; self.mailboxes = mailboxes
    }
}

/// A typed override recorded inside a `protocol NAME { }` filter.
struct Override: Sendable {
    var key: String
    var value: SettingValue
}

/// Every section as read (kind, name, typed key/values, children), kept for `doveconf -n`-style dumps.
struct SectionRecord: Sendable {
    var kind: String
    var name: String?
    var values: [(key: String, value: String)] = []
    var children: [SectionRecord] = []
}
