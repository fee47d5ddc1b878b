public import AerieAuth
public import AerieConfig
public import AerieCore
public import NIOSSL
public import SASL

#if canImport(Glibc)
    import Glibc
#endif

/// Everything `serve` checks before it binds, in one place, so `aerie conf check` runs exactly the same checks:
/// exit 0 from `conf check` means `serve` starts (issue 15).
public struct Preflight: Sendable {
    public var listeners: [ListenerPlan]
    public var tlsContext: NIOSSLContext?
    /// `ssl_server_request_client_cert`: verifies the certificates clients present.
    public var clientCertificates: ClientCertificateVerifier? = nil
    public var auth: AuthServiceConfiguration
    public var mechanisms: [SASLMechanism]
    /// The account `serve` drops to when started as root; nil when not root.
    public var dropAccount: ServiceAccount?
    /// The account the auth process runs as (`default_internal_user`) when started as root; nil when not root.
    public var internalAccount: ServiceAccount?

    /// Listener plan, TLS certificate and key (files, permissions, parse), auth drivers and templates, mechanisms,
    /// the accounts that must exist, passwd-files readable by the account that will read them, base_dir.
    /// `reload`: a SIGHUP, after the privilege drop: base_dir and log_path were opened at start and are not
    /// opened again. `tls: false`: a mail process that only serves hand-offs (issue 11) reads no certificate or key.
    public static func check(
        config: LoadedConfig, log: any LogSink, keeper: KeyKeeper? = nil, reload: Bool = false, tls: Bool = true
    ) throws -> Preflight {
        var settings = config.settings.forProtocol("imap")
        if !tls { settings.ssl = .no }
        let listeners = try ListenerPlan.plan(settings: config.settings, log: log)
        try checkClientCertificateRequired(config.settings, listeners: listeners)
        let clientCertificates = settings.ssl == .no ? nil : try ClientCertificateVerifier.load(settings: settings)
        let tlsContext: NIOSSLContext? =
            settings.ssl == .no
            ? nil : try TLSSetup.makeContext(settings: settings, keeper: keeper, clientCertificates: clientCertificates)
        let mechanisms = try settings.authMechanisms.map { name in
            guard let mechanism = SASLMechanism(rawValue: name.uppercased()) else {
                let supported = SASLMechanism.allCases.map { $0.rawValue.lowercased() }.joined(separator: " ")
                throw ServerStartError("auth_mechanisms: \(name) is not supported (supported: \(supported))")
            }
            // RFC 7677 §1: SHA-1 is weak, like the {SCRAM-SHA-1} credentials it needs.
            if mechanism == .scramSHA1 && !settings.authAllowWeakSchemes {
                throw ServerStartError(
                    "auth_mechanisms: scram-sha-1 is weak: set auth_allow_weak_schemes = yes to offer it")
            }
            return mechanism
        }
        if mechanisms.contains(where: \.bindsChannel) && settings.ssl == .no && tls {
            throw ServerStartError("auth_mechanisms: scram-sha-256-plus binds to TLS: it needs ssl = yes or required")
        }
        // RFC 4422 Appendix A: EXTERNAL needs a verified certificate and the name in it.
        if mechanisms.contains(.external), clientCertificates?.usernameAttribute == nil {
            throw ServerStartError(
                "auth_mechanisms: external needs ssl_server_request_client_cert = yes and "
                    + "auth_ssl_username_from_cert = yes")
        }
        let auth = try AerieServer.authConfiguration(config.settings)
        try AuthService.validate(auth, registry: AerieServer.authDrivers)
        var dropAccount: ServiceAccount?
        var internalAccount: ServiceAccount?
        // Only the mail processes the master starts per uid/gid/chroot (issue 11) chroot: never ignore it silently.
        if let chroot = config.settings.value(forKey: "mail_chroot"), !chroot.isEmpty {
            guard config.settings.value(forKey: "login_process") == "yes" else {
                throw ServerStartError(
                    "mail_chroot = \(chroot) needs login_process = yes (the mail processes it starts "
                        + "per uid/gid/chroot are the ones that chroot)")
            }
            guard chroot.hasPrefix("/") else {
                throw ServerStartError("mail_chroot = \(chroot) must be an absolute path")
            }
        }
        if geteuid() == 0 {
            let user = settings.mailUID.isEmpty ? settings.defaultInternalUser : settings.mailUID
            dropAccount = try ServiceAccount.lookup(user: user, group: settings.mailGID)
            internalAccount = try AuthServiceProcess.internalAccount(config.settings)
            // The login process runs as default_login_user: a missing one stops serve, so `conf check` says it too.
            if config.settings.value(forKey: "login_process") == "yes" { _ = try LoginProcess.account(config.settings) }
        }
        for plan in listeners {
            guard let socket = plan.unixSocket else { continue }
            if !socket.user.isEmpty { _ = try ServiceAccount.lookup(user: socket.user, group: socket.group) }
            if !socket.group.isEmpty { _ = try ServiceAccount.groupID(socket.group) }
        }
        let paths =
            auth.passdbs.map { ("passdb \($0.name)", $0.path) } + auth.userdbs.map { ("userdb \($0.name)", $0.path) }
        // The auth process reads them, as default_internal_user. After the drop (a reload) serve may not reach
        // them at all: the new auth process checks them itself (`AuthServiceProcess`) and logs what it cannot read.
        for (what, path) in paths where !path.isEmpty && !path.contains("%") && !reload {
            try checkReadable(path, what: what, by: internalAccount)
        }
        let logPath = config.settings.logPath
        if !reload {
            try checkCreatable(config.settings.baseDir, what: "base_dir")
            if !["", "syslog", "/dev/stderr"].contains(logPath) { try checkWritable(logPath, what: "log_path") }
        }
        return Preflight(
            listeners: listeners, tlsContext: tlsContext, clientCertificates: clientCertificates, auth: auth,
            mechanisms: mechanisms, dropAccount: dropAccount,
            internalAccount: internalAccount)
    }

    /// `auth_ssl_require_client_cert`: every IMAP and POP3 login must come over Aerie's own TLS, where the handshake
    /// requires a verified certificate; a plaintext, unix-socket or HAProxy-terminated leg would bypass it.
    static func checkClientCertificateRequired(_ base: AerieSettings, listeners: [ListenerPlan]) throws {
        let settings = base.forProtocol("imap")
        guard settings.authSSLRequireClientCert else { return }
        guard settings.sslServerRequestClientCert else {
            throw ServerStartError("auth_ssl_require_client_cert = yes needs ssl_server_request_client_cert = yes")
        }
        for proto in ["imap", "pop3"] where base.forProtocol(proto).ssl != .required {
            throw ServerStartError(
                "auth_ssl_require_client_cert = yes needs ssl = required (\(proto) allows logins without TLS)")
        }
        if let plan = listeners.first(where: { $0.kind != .lmtp && ($0.unixSocket != nil || $0.haproxy) }) {
            throw ServerStartError(
                "auth_ssl_require_client_cert = yes: Aerie cannot see client certificates on listener \(plan.name) "
                    + "(unix socket or haproxy)")
        }
    }

    /// A passwd-file is read by the auth process after it dropped to `account`: the account must reach and read it.
    static func checkReadable(_ path: String, what: String, by account: ServiceAccount?) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ServerStartError("\(what): passwd_file_path \(path): \(systemError())")
        }
        guard let account else {
            guard access(path, R_OK) == 0 else {
                throw ServerStartError("\(what): passwd_file_path \(path) is not readable: \(systemError())")
            }
            return
        }
        var components = path.split(separator: "/").map(String.init)
        components.removeLast()
        var directory = ""
        for component in components {
            directory += "/" + component
            var d = stat()
            guard stat(directory, &d) == 0, permits(d, account, read: false) else {
                throw ServerStartError(
                    "\(what): \(account.name) (uid \(account.uid)) cannot enter \(directory) to read \(path)")
            }
        }
        guard permits(info, account, read: true) else {
            throw ServerStartError(
                "\(what): passwd_file_path \(path) is not readable by \(account.name) (uid \(account.uid)), as "
                    + "which the auth process reads it (default_internal_user): chgrp \(account.gid) \(path) && "
                    + "chmod g+r \(path)")
        }
    }

    /// Owner, group or other permission bits for the account (supplementary groups are not kept after the drop).
    static func permits(_ info: stat, _ account: ServiceAccount, read: Bool) -> Bool {
        let mode = UInt32(info.st_mode)
        let bits: (UInt32, UInt32, UInt32) = read ? (0o400, 0o040, 0o004) : (0o100, 0o010, 0o001)
        if info.st_uid == account.uid { return mode & bits.0 != 0 }
        if info.st_gid == account.gid { return mode & bits.1 != 0 }
        return mode & bits.2 != 0
    }

    /// `serve` opens log_path (creating it) while still root, before anything else: it must be openable then.
    static func checkWritable(_ path: String, what: String) throws {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT != S_IFDIR else { throw ServerStartError("\(what) \(path) is a directory") }
            guard access(path, W_OK) == 0 else { throw ServerStartError("\(what) \(path): \(systemError())") }
            return
        }
        let slash = path.lastIndex(of: "/") ?? path.startIndex
        let parent = slash == path.startIndex ? (path.hasPrefix("/") ? "/" : ".") : String(path[..<slash])
        guard stat(parent, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, access(parent, W_OK) == 0 else {
            throw ServerStartError("\(what) \(path): cannot create it in \(parent): \(systemError())")
        }
    }

    /// `serve` creates base_dir (and its missing parents) before binding; the nearest existing one must be a
    /// directory the process may write.
    static func checkCreatable(_ path: String, what: String) throws {
        var current = path
        while !current.isEmpty {
            var info = stat()
            if stat(current, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw ServerStartError("\(what) \(path): \(current) exists and is not a directory")
                }
                if current != path, access(current, W_OK) != 0 {
                    throw ServerStartError("\(what) \(path): cannot create it in \(current): \(systemError())")
                }
                return
            }
            guard let slash = current.lastIndex(of: "/") else { return }
            current = String(current[..<slash])
        }
    }
}
