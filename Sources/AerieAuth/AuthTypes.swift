/// Auth settings the lead maps from `AerieSettings` (kept separate so AerieAuth does not depend on AerieConfig).
public struct AuthServiceConfiguration: Sendable {
    public var passdbs: [PassDBSpec]
    public var userdbs: [UserDBSpec]
    /// Dovecot `auth_allow_weak_schemes`.
    public var allowWeakSchemes: Bool
    public var firstValidUID: UInt32
    /// 0 = no upper limit.
    public var lastValidUID: UInt32
    public var firstValidGID: UInt32
    /// 0 = no upper limit.
    public var lastValidGID: UInt32
    /// Dovecot `mail_uid`/`mail_gid` resolved to numbers: used when a passwd-file line leaves uid/gid empty.
    public var defaultUID: UInt32?
    public var defaultGID: UInt32?
    /// `auth_verbose`: also log successes.
    public var verbose: Bool
    /// `auth_debug`: log lookups. Never logs passwords, hashes or SASL data.
    public var debug: Bool
    /// `auth_username_format`, e.g. `%{user|lower}` or `%Lu`; empty keeps the name as given.
    public var usernameFormat: String
    /// Penalties, bans and `auth_failure_delay` (the global value; `failureDelays` holds per-protocol ones).
    public var penalty = AuthPenaltySettings()
    /// `protocol NAME { auth_failure_delay = … }` overrides, by `AuthRequest.service`.
    public var failureDelays: [String: Duration] = [:]
    /// Where TOTP enrolments and app passwords are (`state_dir/auth`); "" for none.
    public var secondFactorDirectory = ""
    /// The `oauth2 { }` settings, when `auth_mechanisms` offers OAUTHBEARER or XOAUTH2.
    public var oauth2: OAuth2Settings?
    /// What separates the password from the TOTP code (`PASSWORD:123456`).
    public var totpSeparator = ":"
    /// Services (`protocol X { auth_main_password_alone = no }`) where the main password alone never logs in:
    /// users without TOTP need an app password (or a token, a certificate) there.
    public var mainPasswordAloneRefused: Set<String> = []
    /// `auth_rehash_scheme`: passwd-file hashes weaker than this are rehashed after a successful login; nil = off.
    public var rehashTarget: RehashTarget?
    /// `auth_username_chars`: characters a login name may hold; empty allows all.
    public var usernameChars: String = ""
    /// `auth_username_translation`: pairs of characters, the first of each replaced by the second (`%@` makes
    /// `user%domain` into `user@domain`).
    public var usernameTranslation: String = ""
    /// `auth_default_domain`: appended (after "@") to login names without a domain.
    public var defaultDomain: String = ""
    /// `auth_master_user_separator`: `user*master` logs in as user with master's password; empty disables.
    public var masterUserSeparator: String = ""
    /// `auth_cache_size` in bytes; 0 disables the cache.
    public var cacheSize: Int = 0
    /// `auth_cache_ttl`: how long a found user (and its stored hash or verifier) is answered from the cache.
    public var cacheTTL: Duration = .seconds(3600)
    /// `auth_cache_negative_ttl`: how long an unknown user or a repeated mismatch is; zero disables them.
    public var cacheNegativeTTL: Duration = .seconds(3600)

    public init(
        passdbs: [PassDBSpec] = [], userdbs: [UserDBSpec] = [], allowWeakSchemes: Bool = false,
        firstValidUID: UInt32 = 500, lastValidUID: UInt32 = 0, firstValidGID: UInt32 = 1, lastValidGID: UInt32 = 0,
        defaultUID: UInt32? = nil, defaultGID: UInt32? = nil, verbose: Bool = false, debug: Bool = false,
        usernameFormat: String = ""
    ) {
        self.passdbs = passdbs
        self.userdbs = userdbs
        self.allowWeakSchemes = allowWeakSchemes
        self.firstValidUID = firstValidUID
        self.lastValidUID = lastValidUID
        self.firstValidGID = firstValidGID
        self.lastValidGID = lastValidGID
        self.defaultUID = defaultUID
        self.defaultGID = defaultGID
        self.verbose = verbose
        self.debug = debug
        self.usernameFormat = usernameFormat
    }
}

public struct PassDBSpec: Sendable {
    public var name: String
    /// A key of `AuthDriverRegistry.passdbs`: "passwd-file" built in, others from their modules.
    public var driver: String
    /// May contain user variables (`%{user|domain}`, `%d`, …).
    public var path: String
    /// Scheme for hashes without `{SCHEME}`; Dovecot's passwd-file default is CRYPT.
    public var defaultScheme: String
    /// A user found here is refused whatever the password (Dovecot `deny = yes`).
    public var deny: Bool
    /// Protocols (`AuthRequest.service`) this passdb serves, from `protocol NAME { passdb … }`; empty: all.
    public var protocols: [String] = []
    /// `master = yes`: consulted only for `user*master` logins, with the master's name and password.
    public var master = false
    /// `pass = yes` on a master passdb: the login user must then also pass the ordinary passdbs (without a
    /// password check), so their `nologin`, `allow_nets` and deny lists apply.
    public var pass = false
    public var resultSuccess: AuthDBRule = .returnOK
    public var resultFailure: AuthDBRule = .continue
    public var resultInternalFailure: AuthDBRule = .continue
    public var skip: PassDBSkip = .never
    /// `mechanisms`: SASL mechanism names this passdb serves (IMAP LOGIN and POP3 USER/PASS count as PLAIN,
    /// `none` as a lookup without a login); empty: all.
    public var mechanisms: [String] = []
    /// `username_filter`: wildcards (`*`, `?`) the user must match; a `!` before one excludes; empty: everyone.
    public var usernameFilter: [String] = []
    /// `default_fields`: set unless the passdb returned them; values may hold `%{…}` variables.
    public var defaultFields: [String: String] = [:]
    /// `fields { }` / `override_fields`: set over what the passdb returned; `KEY:default` and `KEY:remove` work.
    public var overrideFields: [String: String] = [:]
    /// Driver settings the engine does not read (e.g. an LDAP driver's `ldap_*`).
    public var options: [String: String] = [:]

    public init(name: String = "", driver: String = "passwd-file", path: String, defaultScheme: String = "CRYPT", deny: Bool = false) {
        self.name = name
        self.driver = driver
        self.path = path
        self.defaultScheme = defaultScheme
        self.deny = deny
    }
}

public struct UserDBSpec: Sendable {
    public var name: String
    /// A key of `AuthDriverRegistry.userdbs`: "passwd-file" and "static" built in.
    public var driver: String
    public var path: String
    /// Protocols this userdb serves, from `protocol NAME { userdb … }`; empty: all. Deliveries are `lmtp`.
    public var protocols: [String] = []
    public var resultSuccess: AuthDBRule = .returnOK
    public var resultFailure: AuthDBRule = .continue
    public var resultInternalFailure: AuthDBRule = .continue
    public var skip: UserDBSkip = .never
    public var defaultFields: [String: String] = [:]
    /// `fields { }` / `override_fields`; for the static userdb, its uid/gid/home templates.
    public var overrideFields: [String: String] = [:]
    public var options: [String: String] = [:]

    public init(name: String = "", driver: String = "passwd-file", path: String) {
        self.name = name
        self.driver = driver
        self.path = path
    }
}

/// One login attempt. `password` is a secret: it is used for verification only and never logged.
public struct AuthRequest: Sendable, Equatable {
    public var user: String
    public var password: String
    /// SASL mechanism name ("PLAIN", "LOGIN") or "" for IMAP LOGIN / POP3 USER+PASS.
    public var mechanism: String
    /// "imap", "pop3", "lmtp", …
    public var service: String
    public var remoteIP: String
    public var localIP: String
    /// TLS (or a trusted local connection) protects the exchange.
    public var secured: Bool
    /// The login session id Dovecot shows in angle brackets; "" for none.
    public var sessionID: String
    /// The serve process verified a TLS client certificate naming `user` (SASL EXTERNAL): no password is checked,
    /// the passdbs are looked up only (Dovecot's `nopassword`).
    public var certificateVerified = false

    public init(
        user: String, password: String, mechanism: String = "", service: String = "imap", remoteIP: String = "",
        localIP: String = "", secured: Bool = false, sessionID: String = ""
    ) {
        self.user = user
        self.password = password
        self.mechanism = mechanism
        self.service = service
        self.remoteIP = remoteIP
        self.localIP = localIP
        self.secured = secured
        self.sessionID = sessionID
    }
}

public struct AuthenticatedUser: Sendable, Equatable, Codable {
    /// The user name after `usernameFormat`.
    public var user: String
    public var uid: UInt32
    public var gid: UInt32
    public var home: String
    /// Userdb extra fields (`userdb_` prefix stripped), e.g. `mail`, `quota_rule`.
    public var extraFields: [String: String]

    public init(user: String, uid: UInt32, gid: UInt32, home: String, extraFields: [String: String] = [:]) {
        self.user = user
        self.uid = uid
        self.gid = gid
        self.home = home
        self.extraFields = extraFields
    }
}

public enum AuthFailure: Sendable, Equatable {
    case passwordMismatch, unknownUser, uidNotPermitted, gidNotPermitted, schemeNotAllowed, temporaryFailure, denied
}

public enum AuthResult: Sendable, Equatable {
    case success(AuthenticatedUser)
    case failure(AuthFailure)
}

/// The one door every protocol session calls; lets auth move to its own process later.
public protocol Authenticator: Sendable {
    func authenticate(_ request: AuthRequest) async -> AuthResult
}

public enum AuthServiceError: Error, Sendable, Equatable {
    case unsupportedDriver(String)
    /// A driver refused its settings; the text says which and why.
    case invalidDriverSettings(String)
    case invalidTemplate(String)
    case noPassdb
}
