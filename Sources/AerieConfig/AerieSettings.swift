/// The typed result of reading a configuration. Properties hold what the server reads; every other known
/// setting lives in the typed value store (`value(forKey:)`).
public struct AerieSettings: Sendable {
    public var protocols: [String] = []
    public var listen: [String] = []
    public var baseDir = ""
    public var stateDir = ""
    public var logPath = ""
    public var infoLogPath = ""
    public var debugLogPath = ""
    public var logTimestamp = ""
    public var syslogFacility = ""
    public var authVerbose = false
    public var authDebug = false
    public var authVerbosePasswords = "no"
    public var mailDebug = false
    public var ssl: SSLMode = .required
    public var sslServerCertFile = ""
    public var sslServerKeyFile = ""
    public var sslServerCAFile = ""
    public var sslServerKeyPassword = ""
    public var sslServerRequestClientCert = false
    public var sslServerRequireCRL = true
    public var sslServerCertUsernameField = "commonName"
    public var authSSLRequireClientCert = false
    public var authSSLUsernameFromCert = false
    public var sslMinProtocol: TLSProtocolVersion = .tls1_2
    public var sslCipherList = ""
    public var sslCipherSuites = ""
    /// "client" | "server"
    public var sslServerPreferCiphers = "client"
    public var authMechanisms: [String] = []
    public var authAllowCleartext = false
    public var authAllowWeakSchemes = false
    public var authFailureDelay: Duration = .seconds(2)
    public var authUsernameFormat = ""
    public var authCacheSize = 0
    public var authCacheTTL: Duration = .seconds(3600)
    public var authCacheNegativeTTL: Duration = .seconds(3600)
    public var mailDriver = ""
    public var mailPath = ""
    public var mailHome = ""
    public var mailboxListLayout = ""
    public var mailUID = ""
    public var mailGID = ""
    public var defaultInternalUser = ""
    public var defaultLoginUser = ""
    public var firstValidUID: UInt32 = 500
    public var lastValidUID: UInt32 = 0
    public var firstValidGID: UInt32 = 1
    public var lastValidGID: UInt32 = 0
    public var mailMaxUseripConnections = 10
    public var imapMaxLineLength = 65536
    public var loginGreeting = ""
    public var loginTrustedNetworks: [String] = []
    /// Peers allowed to send a PROXY protocol header on `haproxy = yes` listeners; nobody else may connect there.
    public var haproxyTrustedNetworks: [String] = []
    /// How long a `haproxy = yes` listener waits for the PROXY header.
    public var haproxyTimeout: Duration = .seconds(3)
    /// Aerie-specific: how long a client may stay connected without logging in.
    public var loginTimeout: Duration = .seconds(60)
    /// RFC 8437 UNAUTHENTICATE offered after login (`imap_unauthenticate`). Off by default: after it, the
    /// pre-login commands would be parsed by the process that holds the mail, not the confined login process.
    public var imapUnauthenticate = false
    public var mailPlugins: [String] = []
    public var passdbs: [PassDBSettings] = []
    public var userdbs: [UserDBSettings] = []
    public var services: [ServiceSettings] = []
    public var namespaces: [NamespaceSettings] = []
    /// `pgsql HOST { parameters { NAME = VALUE } }`: `pgsql_host` and `pgsql_parameter:NAME` (the SQL drivers'
    /// connection).
    public var pgsql: [String: String] = [:]

    /// Current typed value of every known global setting.
    var store: [String: SettingValue] = [:]
    /// Global settings written explicitly in the file (after renames), for `dump(nonDefaultOnly:)` and audits.
    var explicit: Set<String> = []
    /// `protocol NAME { }` overrides, in file order.
    var protocolFilters: [(name: String, overrides: [Override])] = []
    /// Sections that are only dumped (local/remote filters, named filters, generic blocks).
    var otherSections: [SectionRecord] = []
    /// Sections as written for passdb/userdb/service/namespace, for the dump.
    var sectionRecords: [SectionRecord] = []

    init() {}

    /// Whether the configuration sets `key` itself (rather than leaving it at its default).
    public func isExplicit(_ key: String) -> Bool { explicit.contains(key) }

    /// The string form of any known global setting, as `doveconf` would print it; nil for unknown names.
    public func value(forKey key: String) -> String? { store[key]?.stringValue }

    /// `login_process = yes` (the default): TLS and pre-login IMAP/POP3 in the confined login process (issue 11).
    public var loginProcess: Bool { value(forKey: "login_process") != "no" }

    /// A size setting in octets (`UInt64.max` for `unlimited`); nil for unknown names and other types.
    public func size(forKey key: String) -> UInt64? {
        if case .size(let n) = store[key] { return n }
        return nil
    }

    /// A string setting; nil for unknown names and other types.
    public func string(forKey key: String) -> String? {
        if case .string(let s) = store[key] { return s }
        return nil
    }

    /// A duration setting; nil for unknown names and other types.
    public func duration(forKey key: String) -> Duration? {
        if case .duration(let d) = store[key] { return d }
        return nil
    }

    /// An unsigned-integer setting (`unlimited` is `UInt32.max`); nil for unknown names and other types.
    public func number(forKey key: String) -> UInt64? {
        if case .number(let n) = store[key] { return n }
        return nil
    }

    /// A list setting; nil for unknown names and other types.
    public func list(forKey key: String) -> [String]? {
        if case .list(let items) = store[key] { return items }
        return nil
    }

    /// Settings with `protocol NAME { … }` overrides applied on top.
    public func forProtocol(_ name: String) -> AerieSettings {
        var copy = self
        for filter in protocolFilters where filter.name == name {
            for o in filter.overrides { copy.apply(o.key, o.value) }
        }
        return copy
    }

    public func service(named name: String) -> ServiceSettings? { services.first { $0.name == name } }

    /// Stores a typed value and mirrors it into the matching stored property.
    mutating func apply(_ key: String, _ value: SettingValue) {
        store[key] = value
        switch (key, value) {
        case ("protocols", .list(let l)): protocols = l
        case ("listen", .list(let l)): listen = l
        case ("base_dir", .string(let s)): baseDir = s
        case ("state_dir", .string(let s)): stateDir = s
        case ("log_path", .string(let s)): logPath = s
        case ("info_log_path", .string(let s)): infoLogPath = s
        case ("debug_log_path", .string(let s)): debugLogPath = s
        case ("log_timestamp", .string(let s)): logTimestamp = s
        case ("syslog_facility", .string(let s)): syslogFacility = s
        case ("auth_verbose", .bool(let b)): authVerbose = b
        case ("auth_debug", .bool(let b)): authDebug = b
        case ("auth_verbose_passwords", .string(let s)): authVerbosePasswords = s
        case ("mail_debug", .bool(let b)): mailDebug = b
        case ("ssl", .string(let s)): ssl = SSLMode(rawValue: s) ?? .required
        case ("ssl_server_cert_file", .string(let s)): sslServerCertFile = s
        case ("ssl_server_key_file", .string(let s)): sslServerKeyFile = s
        case ("ssl_server_ca_file", .string(let s)): sslServerCAFile = s
        case ("ssl_server_key_password", .string(let s)): sslServerKeyPassword = s
        case ("ssl_server_request_client_cert", .bool(let b)): sslServerRequestClientCert = b
        case ("ssl_server_require_crl", .bool(let b)): sslServerRequireCRL = b
        case ("ssl_server_cert_username_field", .string(let s)): sslServerCertUsernameField = s
        case ("auth_ssl_require_client_cert", .bool(let b)): authSSLRequireClientCert = b
        case ("auth_ssl_username_from_cert", .bool(let b)): authSSLUsernameFromCert = b
        case ("ssl_min_protocol", .string(let s)): sslMinProtocol = TLSProtocolVersion(rawValue: s) ?? .tls1_2
        case ("ssl_cipher_list", .string(let s)): sslCipherList = s
        case ("ssl_cipher_suites", .string(let s)): sslCipherSuites = s
        case ("ssl_server_prefer_ciphers", .string(let s)): sslServerPreferCiphers = s
        case ("auth_mechanisms", .list(let l)): authMechanisms = l
        case ("auth_allow_cleartext", .bool(let b)): authAllowCleartext = b
        case ("auth_allow_weak_schemes", .bool(let b)): authAllowWeakSchemes = b
        case ("auth_failure_delay", .duration(let d)): authFailureDelay = d
        case ("auth_username_format", .string(let s)): authUsernameFormat = s
        case ("auth_cache_size", .size(let n)): authCacheSize = Int(clamping: n)
        case ("auth_cache_ttl", .duration(let d)): authCacheTTL = d
        case ("auth_cache_negative_ttl", .duration(let d)): authCacheNegativeTTL = d
        case ("mail_driver", .string(let s)): mailDriver = s
        case ("mail_path", .string(let s)): mailPath = s
        case ("mail_home", .string(let s)): mailHome = s
        case ("mailbox_list_layout", .string(let s)): mailboxListLayout = s
        case ("mail_uid", .string(let s)): mailUID = s
        case ("mail_gid", .string(let s)): mailGID = s
        case ("default_internal_user", .string(let s)): defaultInternalUser = s
        case ("default_login_user", .string(let s)): defaultLoginUser = s
        case ("first_valid_uid", .number(let n)): firstValidUID = UInt32(clamping: n)
        case ("last_valid_uid", .number(let n)): lastValidUID = UInt32(clamping: n)
        case ("first_valid_gid", .number(let n)): firstValidGID = UInt32(clamping: n)
        case ("last_valid_gid", .number(let n)): lastValidGID = UInt32(clamping: n)
        case ("mail_max_userip_connections", .number(let n)): mailMaxUseripConnections = Int(clamping: n)
        case ("imap_max_line_length", .size(let n)): imapMaxLineLength = Int(clamping: n)
        case ("login_greeting", .string(let s)): loginGreeting = s
        case ("login_trusted_networks", .list(let l)): loginTrustedNetworks = l
        case ("haproxy_trusted_networks", .list(let l)): haproxyTrustedNetworks = l
        case ("haproxy_timeout", .duration(let d)): haproxyTimeout = d
        case ("login_timeout", .duration(let d)): loginTimeout = d
        case ("imap_unauthenticate", .bool(let b)): imapUnauthenticate = b
        case ("mail_plugins", .boolList(let l)): mailPlugins = l.filter(\.enabled).map(\.name)
        default: break
        }
    }
}

extension AerieSettings {
    /// A duration as the configuration writes it (`1 hour`, `90 secs`, `30s`); nil when it is not one.
    public static func parseDuration(_ text: String) -> Duration? { ValueParser.duration(text) }
}
