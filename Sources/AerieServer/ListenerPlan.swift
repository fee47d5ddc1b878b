public import AerieConfig
public import AerieCore

#if canImport(Glibc)
    import Glibc
#endif

/// The protocols Aerie serves.
public enum ServiceKind: String, Sendable, Equatable {
    case imap, pop3, lmtp
}

/// One listening socket, resolved from `service NAME { inet_listener … / unix_listener … }`.
public struct ListenerPlan: Sendable, Equatable, CustomStringConvertible {
    public struct UnixSocket: Sendable, Equatable {
        public var path: String
        public var mode: UInt16
        public var user: String
        public var group: String

        /// Mode and owner of the socket file, set while still root. Without a user it belongs to the mail account.
        func applyPermissions(defaultOwner: ServiceAccount?) throws {
            if !user.isEmpty || !group.isEmpty || defaultOwner != nil {
                let owner = try user.isEmpty ? defaultOwner : ServiceAccount.lookup(user: user, group: group)
                let gid = try group.isEmpty ? owner?.gid : ServiceAccount.groupID(group)
                if geteuid() == 0, let uid = owner?.uid ?? defaultOwner?.uid, let gid = gid ?? defaultOwner?.gid {
                    try SecureFile.chown(path, uid: uid, gid: gid)
                }
            }
            guard chmod(path, mode_t(mode)) == 0 else {
                throw ServerStartError("Cannot chmod \(path): \(systemError())")
            }
        }
    }

    public var kind: ServiceKind
    public var name: String
    public var host: String
    public var port: Int
    public var implicitTLS: Bool
    public var unixSocket: UnixSocket?
    /// `haproxy = yes`: every connection starts with a PROXY protocol header from `haproxy_trusted_networks`.
    public var haproxy = false

    public var description: String {
        if let unixSocket { return "\(unixSocket.path) (unix socket)" }
        return "\(host):\(port)" + (kind == .lmtp ? "" : implicitTLS ? " (TLS)" : " (STARTTLS)")
            + (haproxy ? " (PROXY protocol)" : "")
    }

    /// Resolves every listener of the configured protocols. A plaintext port exists only where the configuration
    /// gives one; LMTP over TCP only on loopback or `login_trusted_networks`, never to the world.
    public static func plan(settings: AerieSettings, log: any LogSink) throws -> [ListenerPlan] {
        try checkNetworks(settings: settings)
        var plans: [ListenerPlan] = []
        for proto in settings.protocols {
            switch proto {
            case "imap": plans += try inet(.imap, service: "imap-login", settings: settings.forProtocol("imap"), log: log)
            case "pop3": plans += try inet(.pop3, service: "pop3-login", settings: settings.forProtocol("pop3"), log: log)
            case "lmtp": plans += try lmtp(settings: settings.forProtocol("lmtp"), log: log)
            default: log.warning("master", "protocols includes \(proto), which Aerie does not serve")
            }
        }
        guard !plans.isEmpty else { throw ServerStartError("no listener has a port or socket: nothing to serve") }
        return plans
    }

    static func inet(_ kind: ServiceKind, service: String, settings: AerieSettings, log: any LogSink) throws
        -> [ListenerPlan]
    {
        var plans: [ListenerPlan] = []
        for listener in settings.service(named: service)?.inetListeners ?? [] {
            try checkHAProxy(listener, service: service, settings: settings)
            guard let port = listener.port else {
                log.warning(
                    "master",
                    "service \(service): inet_listener \(listener.name) has no port, so it is not opened (Dovecot would open its default port; write port = 0 to say so)"
                )
                continue
            }
            guard port > 0 else { continue }
            guard port <= 65535 else { throw ServerStartError("inet_listener \(listener.name): port \(port) out of range") }
            if listener.ssl && settings.ssl == .no {
                throw ServerStartError(
                    "inet_listener \(listener.name) has ssl = yes but ssl = no: set ssl = required (the default)")
            }
            for address in listener.address ?? settings.listen {
                for host in hosts(for: address) {
                    var plan = ListenerPlan(
                        kind: kind, name: listener.name, host: host, port: port, implicitTLS: listener.ssl)
                    plan.haproxy = listener.haproxy
                    plans.append(plan)
                }
            }
        }
        return plans
    }

    /// Dovecot's default: `unix_listener lmtp` in base_dir, here with mode 0600 (the secure default).
    static func lmtp(settings: AerieSettings, log: any LogSink) throws -> [ListenerPlan] {
        let service = settings.service(named: "lmtp")
        var plans: [ListenerPlan] = []
        let unixListeners =
            service?.unixListeners
            ?? [UnixListenerSettings(name: "lmtp", path: "lmtp", mode: 0o600, user: "", group: "")]
        for listener in unixListeners {
            let path = listener.path.hasPrefix("/") ? listener.path : settings.baseDir + "/" + listener.path
            plans.append(
                ListenerPlan(
                    kind: .lmtp, name: listener.name, host: "", port: 0, implicitTLS: false,
                    unixSocket: UnixSocket(path: path, mode: listener.mode, user: listener.user, group: listener.group)))
        }
        for listener in service?.inetListeners ?? [] {
            try checkHAProxy(listener, service: "lmtp", settings: settings)
            guard let port = listener.port, port > 0 else { continue }
            for address in listener.address ?? settings.listen {
                for host in hosts(for: address) {
                    guard isLoopback(host) || CIDRList(settings.loginTrustedNetworks).contains(host) else {
                        throw ServerStartError(
                            "service lmtp: inet_listener \(listener.name) on \(host) would accept mail from the network: LMTP over TCP is allowed only on loopback or an address in login_trusted_networks"
                        )
                    }
                    var plan = ListenerPlan(
                        kind: .lmtp, name: listener.name, host: host, port: port, implicitTLS: false)
                    plan.haproxy = listener.haproxy
                    plans.append(plan)
                }
            }
        }
        return plans
    }

    /// A `haproxy = yes` listener with no trusted proxy would refuse every connection: say so before starting.
    static func checkHAProxy(_ listener: InetListenerSettings, service: String, settings: AerieSettings) throws {
        guard listener.haproxy, CIDRList(settings.haproxyTrustedNetworks).isEmpty else { return }
        throw ServerStartError(
            "service \(service): inet_listener \(listener.name) has haproxy = yes but haproxy_trusted_networks is "
                + "empty: every connection would be refused; list the proxies' addresses there")
    }

    /// Network lists must parse: an entry that does not would silently trust nobody (or, mistyped, the wrong peer).
    static func checkNetworks(settings: AerieSettings) throws {
        for (name, list) in [
            ("login_trusted_networks", settings.loginTrustedNetworks),
            ("haproxy_trusted_networks", settings.haproxyTrustedNetworks),
        ] {
            let invalid = CIDRList(list).invalid
            guard invalid.isEmpty else {
                throw ServerStartError(
                    "\(name): invalid network \(invalid.joined(separator: ", ")) "
                        + "(write 10.0.0.0/8, 2001:db8::/32 or one address)")
            }
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host.hasPrefix("127.") || host == "::1" || host == "localhost"
    }

    static func hosts(for address: String) -> [String] {
        address.split(whereSeparator: { $0 == "," || $0 == " " }).map { part in
            switch part {
            case "*": "0.0.0.0"
            case "[::]": "::"
            default: String(part)
            }
        }
    }
}
