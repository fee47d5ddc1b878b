/// Options for a load; the defaults read includes and `<file` values from disk.
public struct ConfigLoadOptions: Sendable {
    /// When false, `!include` and `<file` are refused (used by the fuzzer so no input can read the disk).
    public var allowFileAccess: Bool
    /// When false, settings Aerie does not enforce are neither refused nor warned about: for reading a Dovecot
    /// configuration's syntax only (tests of the parser), never for a configuration a server will run.
    public var checksSupport: Bool

    public init(allowFileAccess: Bool = true, checksSupport: Bool = true) {
        self.allowFileAccess = allowFileAccess
        self.checksSupport = checksSupport
    }
}

/// A configuration that loaded without errors, with its warnings.
public struct LoadedConfig: Sendable {
    public var settings: AerieSettings
    public var warnings: [ConfigDiagnostic]
    /// Every file this configuration was read from, as read: `ConfigLoader.load(snapshot:)` loads the same
    /// configuration again whatever the files hold now (children of a master whose reload was rejected).
    public var snapshot: ConfigSnapshot?

    public init(settings: AerieSettings, warnings: [ConfigDiagnostic]) {
        self.settings = settings
        self.warnings = warnings
    }

    /// doveconf-like dump: with `nonDefaultOnly`, only settings that were set and differ from the default (like `doveconf -n`).
    public func dump(nonDefaultOnly: Bool) -> String { Dump.render(settings, nonDefaultOnly: nonDefaultOnly) }

    /// Every explicitly set value that weakens a secure default, one line each.
    public func securityWarnings() -> [String] { Audit.securityWarnings(settings) }
}

public enum ConfigLoader {
    public static func load(path: String) throws(ConfigError) -> LoadedConfig {
        try load(path: path, options: ConfigLoadOptions())
    }

    public static func load(path: String, options: ConfigLoadOptions) throws(ConfigError) -> LoadedConfig {
        var parser = Parser(fileAccess: options.allowFileAccess)
        switch parser.readFile(path) {
        case .success(let text):
            return try load(text: text, path: path, options: options)
        case .failure(let message):
            throw ConfigError(diagnostics: [ConfigDiagnostic(severity: .error, file: path, line: 0, message: message)])
        }
    }

    /// Loads `text` as if it were the file `path`; includes and `<file` are relative to dirname(path).
    public static func load(text: String, path: String) throws(ConfigError) -> LoadedConfig {
        try load(text: text, path: path, options: ConfigLoadOptions())
    }

    public static func load(text: String, path: String, options: ConfigLoadOptions) throws(ConfigError) -> LoadedConfig {
        var parser = Parser(fileAccess: options.allowFileAccess)
        parser.snapshot = ConfigSnapshot(path: path)
        parser.snapshot.files[path] = text
        return try load(text: text, path: path, options: options, parser: parser)
    }

    /// Loads the files of `snapshot` as they were when it was recorded; no file is read.
    public static func load(snapshot: ConfigSnapshot) throws(ConfigError) -> LoadedConfig {
        guard let text = snapshot.files[snapshot.path] else {
            throw ConfigError(diagnostics: [
                ConfigDiagnostic(severity: .error, file: snapshot.path, line: 0, message: "not in the snapshot")
            ])
        }
        return try load(
            text: text, path: snapshot.path, options: ConfigLoadOptions(),
            parser: Parser(fileAccess: true, replaying: snapshot))
    }

    private static func load(
        text: String, path: String, options: ConfigLoadOptions, parser: Parser
    ) throws(ConfigError) -> LoadedConfig {
        var parser = parser
        if text.utf8.count > ConfigLimits.maxFileSize {
            throw ConfigError(diagnostics: [ConfigDiagnostic(severity: .error, file: path, line: 0,
                                                             message: "File too large (limit \(ConfigLimits.maxFileSize) bytes)")])
        }
        let tree = parser.parse(text: text, path: path)
        var builder = Builder(parser: parser)
        builder.checksSupport = options.checksSupport
        builder.walkGlobal(tree)
        finish(&builder)
        if builder.diags.hasErrors { throw ConfigError(diagnostics: builder.diags.errors + builder.diags.warnings) }
        var loaded = LoadedConfig(settings: builder.settings, warnings: builder.diags.warnings)
        if options.allowFileAccess { loaded.snapshot = builder.parser.snapshot }
        return loaded
    }

    /// The settings Aerie uses when the configuration says nothing.
    public static func defaults() -> LoadedConfig {
        var s = baseDefaults
        s.services = defaultServices
        return LoadedConfig(settings: s, warnings: [])
    }

    /// No plaintext port by default (Dovecot also opens 143/110): only implicit-TLS IMAP and POP3.
    static let defaultServices: [ServiceSettings] = [
        ServiceSettings(name: "imap-login", inetListeners: [InetListenerSettings(name: "imaps", port: 993, ssl: true)]),
        ServiceSettings(name: "pop3-login", inetListeners: [InetListenerSettings(name: "pop3s", port: 995, ssl: true)]),
    ]

    /// Registry defaults, typed once.
    static let baseDefaults: AerieSettings = {
        var s = AerieSettings()
        for def in Registry.global.ordered {
            if case .success(let v) = Validation.typed(def, def.defaultText) {
                s.apply(def.name, v)
            } else if def.defaultText.isEmpty {
                s.apply(def.name, def.type == .list ? .list([]) : def.type == .boolList ? .boolList([]) : .string(""))
            }
        }
        return s
    }()

    static func finish(_ b: inout Builder) {
        // 2.4 passdb/userdb merge by name like other named list filters; keep file order.
        if !b.sawService { b.settings.services = defaultServices }
        if let (n, loc) = b.authWorkerMax {
            var svc = b.settings.service(named: "auth-worker") ?? ServiceSettings(name: "auth-worker")
            if svc.processLimit == nil { svc.processLimit = n }
            b.settings.services.removeAll { $0.name == "auth-worker" }
            b.settings.services.append(svc)
            _ = loc
        }
        Audit.whole(&b)
    }
}
