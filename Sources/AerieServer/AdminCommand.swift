import AerieAuth
import AerieCore
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The incident switch: IMAP and POP3 logins refused with a reason while it is off; sessions already logged in go
/// on, and LMTP delivers as usual. Held by the serving process (it outlives auth-process restarts and reloads, not
/// a restart of `aerie serve`).
final class LoginSwitch: Sendable {
    static let services = ["imap", "pop3"]
    static let defaultReason = "Logins are temporarily disabled, try again later."
    private let disabled = Mutex<[String: String]>([:])

    /// `service`: nil for every service.
    func disable(_ service: String?, reason: String) {
        disabled.withLock { disabled in
            for name in service.map({ [$0] }) ?? Self.services { disabled[name] = reason }
        }
    }

    func enable(_ service: String?) {
        disabled.withLock { disabled in
            for name in service.map({ [$0] }) ?? Self.services { disabled[name] = nil }
        }
    }

    /// The reason a login to `service` is refused now, or nil when logins are on.
    func refusal(for service: String) -> String? { disabled.withLock { $0[service] } }

    /// The services switched off now, with their reasons.
    var disabledServices: [(service: String, reason: String)] {
        let disabled = disabled.withLock { $0 }
        return Self.services.compactMap { name in disabled[name].map { (name, $0) } }
    }

    /// Applies `--login-disabled SERVICE=REASON` arguments (from the master, which holds the switch); throws on one
    /// that is not.
    func apply(arguments: [String]) throws {
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "="), Self.services.contains(String(argument[..<equals])),
                AdminCommand.isValidReason(String(argument[argument.index(after: equals)...]))
            else { throw ServerStartError("--login-disabled wants SERVICE=REASON") }
            disable(String(argument[..<equals]), reason: String(argument[argument.index(after: equals)...]))
        }
    }

    var status: [String] {
        let disabled = disabled.withLock { $0 }
        return Self.services.map { name in disabled[name].map { "\(name): disabled (\($0))" } ?? "\(name): enabled" }
    }
}

/// One `aerie adm` request to the serving process, as it travels over the admin socket (a list of words).
public enum AdminCommand: Sendable, Equatable {
    /// `service` nil: every login service.
    case loginsDisable(service: String?, reason: String)
    case loginsEnable(service: String?)
    case loginsStatus
    case kick(KickTarget)
    /// `all`: pre-login and LMTP connections too, not only logged-in sessions.
    case who(all: Bool)

    /// Words the auth process answers (penalties, bans, auth tests and lookups, its cache, second factors).
    static func isAuthProcessCommand(_ words: [String]) -> Bool {
        ["penalty", "ban", "auth", "user", "-p", "totp", "app-password"].contains(words.first ?? "")
    }

    /// What was asked, for the log: the command and the user it names, never a password.
    static func authLogDescription(_ words: [String]) -> String {
        var words = words
        if words.first == "-p", words.count > 2 { words.removeFirst(2) }
        let verbs = words.first.map { ["auth", "totp", "app-password", "penalty"].contains($0) ? 2 : 1 } ?? 0
        let shown = words.prefix(verbs).map { LogSafe.userName($0) }
        let target = words.count > verbs ? [LogSafe.userName(words[verbs])] : []
        return (shown + target).joined(separator: " ")
    }

    public static let usage =
        "usage: logins disable [imap|pop3] [REASON] | logins enable [imap|pop3] | logins status"
        + " | kick user USER | kick all | kick ip CIDR | who [all]"

    /// Longest `--reason`: it goes into a protocol reply line.
    static let maxReasonLength = 200

    /// Parses the words `aerie adm` sent; nil when they make no command.
    public init?(_ words: [String]) {
        switch words.first {
        case "logins":
            guard words.count >= 2 else { return nil }
            let service = words.count >= 3 ? words[2] : "all"
            guard service == "all" || LoginSwitch.services.contains(service) else { return nil }
            let named = service == "all" ? nil : service
            switch words[1] {
            case "disable" where words.count <= 4:
                let reason = words.count == 4 ? words[3] : LoginSwitch.defaultReason
                guard Self.isValidReason(reason) else { return nil }
                self = .loginsDisable(service: named, reason: reason)
            case "enable" where words.count <= 3: self = .loginsEnable(service: named)
            case "status" where words.count == 2: self = .loginsStatus
            default: return nil
            }
        case "kick":
            switch (words.count, words.count > 1 ? words[1] : "") {
            case (2, "all"): self = .kick(.all)
            case (3, "user") where Self.isValidWord(words[2]): self = .kick(.user(words[2]))
            case (3, "ip"):
                guard let network = CIDR(words[2]) else { return nil }
                self = .kick(.network(network))
            default: return nil
            }
        case "who":
            guard words.count == 1 || (words.count == 2 && words[1] == "all") else { return nil }
            self = .who(all: words.count == 2)
        default:
            return nil
        }
    }

    /// Printable, one line, bounded: the reason is sent to clients after `NO [UNAVAILABLE]` / `-ERR [SYS/TEMP]`.
    static func isValidReason(_ text: String) -> Bool {
        !text.isEmpty && text.count <= maxReasonLength
            && text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
    }

    static func isValidWord(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 256
            && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F }
    }

    /// One line for the log: what was asked (a reason or a user name is quoted, never a password: none is sent).
    var logDescription: String {
        switch self {
        case .loginsDisable(let service, let reason): "logins disable \(service ?? "all") reason=\"\(reason)\""
        case .loginsEnable(let service): "logins enable \(service ?? "all")"
        case .loginsStatus: "logins status"
        case .kick(.user(let user)): "kick user \(LogSafe.userName(user))"
        case .kick(.all): "kick all"
        case .kick(.network(let network)): "kick ip \(network)"
        case .who(let all): all ? "who all" : "who"
        }
    }
}

/// Carries out admin commands on the serving process's state.
struct AdminExecutor: Sendable {
    let registry: ConnectionRegistry
    let logins: LoginSwitch
    /// The auth process's socket, for the commands it answers (over TCP they come through here); nil: none.
    var authSocketPath: String? = nil
    /// The login process, which holds the pre-login connections (`login_process = yes`); nil: none.
    var loginWorker: LoginWorkerAdmin? = nil
    /// The master (`MasterAdmin`), when it routes logins to mail processes; nil: none.
    var master: LoginWorkerAdmin? = nil

    /// Where the connections to the auth process run.
    var group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    /// Sends the words to the auth process as `aerie adm` on this machine does.
    func askAuthProcess(_ words: [String]) async -> (ok: Bool, text: String) {
        guard let path = authSocketPath else { return (false, "no auth process") }
        return await AdminAuthForwarding.ask(path: path, words: words, group: group)
    }

    static let kickText = "Disconnected by the administrator."
    /// Dovecot's log reason for a kicked session (`MASTER_SERVICE_USER_KICKED_MSG`).
    static let kickReason = "User kicked"

    /// `run`, with the login process's pre-login connections for the commands that concern them, and the master's
    /// part (`MasterAdmin`: the switch it holds, the sessions of the per-uid mail processes), asked at the same
    /// time; a process that does not answer in time is said so, not waited for.
    func runWithLoginProcess(_ command: AdminCommand, words: [String]) async -> (ok: Bool, text: String) {
        let (ok, here) = run(command)
        let askLogin = loginWorker != nil && LoginAdmin.concernsPreLogin(command)
        async let fromLogin: String? = askLogin ? loginWorker?.ask(words) : nil
        async let fromMaster: String? = master?.ask(words)
        var text = here
        if askLogin {
            if let there = await fromLogin {
                text = LoginAdmin.merge(command, here: text, loginProcess: there)
            } else {
                text += "\n(the login process did not answer: its pre-login connections are not included)"
            }
        }
        guard master != nil else { return (ok, text) }
        guard let there = await fromMaster else {
            return (ok, text + "\n(the master did not answer: the other mail processes are not included)")
        }
        return (ok, Self.mergeMaster(command, here: text, master: there))
    }

    /// The master's answer into ours: its switch status is the one in force; its sessions are added (its notes on
    /// processes that did not answer kept).
    static func mergeMaster(_ command: AdminCommand, here: String, master: String) -> String {
        let theirs = master.split(separator: "\n").map(String.init)
        switch command {
        case .loginsDisable, .loginsEnable, .loginsStatus:
            return master
        case .who:
            return ([here] + theirs.dropFirst()).joined(separator: "\n")
        case .kick:
            let ours = here.split(separator: "\n").map(String.init)
            let count = LoginAdmin.kickedCount(ours.first ?? "") + LoginAdmin.kickedCount(theirs.first ?? "")
            return (["kicked \(count) connection\(count == 1 ? "" : "s")"] + ours.dropFirst() + theirs.dropFirst())
                .joined(separator: "\n")
        }
    }

    /// (succeeded, text for the admin).
    func run(_ command: AdminCommand) -> (ok: Bool, text: String) {
        switch command {
        case .loginsDisable(let service, let reason):
            logins.disable(service, reason: reason)
            return (true, logins.status.joined(separator: "\n"))
        case .loginsEnable(let service):
            logins.enable(service)
            return (true, logins.status.joined(separator: "\n"))
        case .loginsStatus:
            return (true, logins.status.joined(separator: "\n"))
        case .kick(let target):
            let count = registry.kick(target, text: Self.kickText, reason: Self.kickReason)
            return (true, "kicked \(count) connection\(count == 1 ? "" : "s")")
        case .who(let all):
            let sessions = registry.sessions.filter { all || ($0.user != nil && $0.service != "lmtp") }
            return (true, Self.whoTable(sessions))
        }
    }

    /// `doveadm who`'s columns plus traffic: user, protocol, address, since (UTC), bytes in and out.
    static func whoTable(_ sessions: [SessionInfo], limit: Int = 10_000) -> String {
        var lines = ["username\tproto\tip\tsince\tin\tout"]
        for info in sessions.prefix(limit) {
            let user = info.user.map(LogSafe.userName) ?? "-"
            let since = utcTimestamp(info.since)
            lines.append("\(user)\t\(info.service)\t\(info.remoteIP)\t\(since)\t\(info.bytesIn)\t\(info.bytesOut)")
        }
        if sessions.count > limit { lines.append("… and \(sessions.count - limit) more") }
        return lines.joined(separator: "\n")
    }

    static func utcTimestamp(_ seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
