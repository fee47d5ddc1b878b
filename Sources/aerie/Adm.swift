import AerieAuth
import AerieConfig
import AerieServer
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `aerie adm`: asks the running server's auth process (over `base_dir/aerie-auth`) about penalties, bans, users
/// and its cache, and the serving process (over `base_dir/aerie-admin`) about logins and sessions.
struct Adm: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Administer the running server.", subcommands: [
            Penalty.self, Ban.self, Logins.self, Kick.self, Who.self, Auth.self, User.self, TOTPCommand.self,
            AppPasswordCommand.self,
        ])

    /// `aerie adm --host … COMMAND`: the same options before the command name.
    @OptionGroup var remote: RemoteAdmin

    struct Auth: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Test logins, look users up in the passdbs, flush the auth cache.",
            subcommands: [Test.self, Lookup.self, Cache.self])

        struct Test: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Run a login through the passdb and userdb chain (no penalty, no delay).")
            @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin
            @Option(name: .short, help: "Protocol whose passdbs to use.") var protocolName = "imap"
            @Argument(help: "The login name (user*master for a master login).") var user: String
            @Argument(help: "The password; asked for when left out.") var password: String?

            func run() throws {
                var secret = password
                if secret == nil, let typed = getpass("Password: ") { secret = String(cString: typed) }
                try askAuthProcess(config, remote, ["-p", protocolName, "auth", "test", user, secret ?? ""])
            }
        }

        struct Lookup: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Look a user up in the passdbs (without a password) and print the extra fields.")
            @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin
            @Option(name: .short, help: "Protocol whose passdbs to use.") var protocolName = "imap"
            @Argument(help: "The user name.") var user: String

            func run() throws { try askAuthProcess(config, remote, ["-p", protocolName, "auth", "lookup", user]) }
        }

        struct Cache: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "The auth cache.", subcommands: [Flush.self])

            struct Flush: ParsableCommand {
                static let configuration = CommandConfiguration(
                    abstract: "Forget every cached passdb and userdb answer, or only those of the given users.")
                @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin
                @Argument(help: "User names (all users when none).") var users: [String] = []

                func run() throws { try askAuthProcess(config, remote, ["auth", "cache", "flush"] + users) }
            }
        }
    }

    struct User: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Look a user up in the userdbs (uid, gid, home, extra fields), or list users: -A or a mask.",
            discussion:
                "A mask holds * (any run) or ? (one character), as doveadm user: aerie adm user '*@example.com'."
        )
        @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin
        @Flag(name: .customShort("A"), help: "List every user of the userdbs that can list theirs.") var all = false
        @Argument(help: "The user name, or a mask with * and ?.") var user: String?

        func validate() throws {
            guard all != (user != nil) else { throw ValidationError("give a user name or mask, or -A") }
        }

        func run() throws { try askAuthProcess(config, remote, ["user", all ? "-A" : user ?? ""]) }
    }

    struct Logins: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Refuse or allow new IMAP/POP3 logins (sessions already logged in go on; LMTP delivers).",
            subcommands: [Disable.self, Enable.self, Status.self])

        struct Disable: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Refuse new logins: NO [UNAVAILABLE] REASON (IMAP), -ERR [SYS/TEMP] REASON (POP3).")
            @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin
            @Option(name: .customLong("protocol"), help: "imap or pop3 (default both).") var service: String?
            @Option(help: "What clients are told (one line).") var reason: String?

            func run() throws {
                try askServer(config, remote, ["logins", "disable", service ?? "all"] + (reason.map { [$0] } ?? []))
            }
        }

        struct Enable: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Allow logins again.")
            @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin
            @Option(name: .customLong("protocol"), help: "imap or pop3 (default both).") var service: String?

            func run() throws { try askServer(config, remote, ["logins", "enable", service ?? "all"]) }
        }

        struct Status: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Whether logins are enabled, per protocol.")
            @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin

            func run() throws { try askServer(config, remote, ["logins", "status"]) }
        }
    }

    struct Kick: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close IMAP/POP3 connections with * BYE / -ERR: a user's sessions, a network's, or all.")
        @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin
        @Flag(help: "Every IMAP and POP3 connection.") var all = false
        @Option(help: "Every IMAP and POP3 connection from this address or network (CIDR).") var ip: String?
        @Argument(help: "The user whose sessions to close.") var user: String?

        func validate() throws {
            guard [all, ip != nil, user != nil].filter({ $0 }).count == 1 else {
                throw ValidationError("Name exactly one of USER, --all, --ip CIDR.")
            }
        }

        func run() throws {
            if all { return try askServer(config, remote, ["kick", "all"]) }
            if let ip { return try askServer(config, remote, ["kick", "ip", ip]) }
            try askServer(config, remote, ["kick", "user", user ?? ""])
        }
    }

    struct Who: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List logged-in sessions: user, protocol, IP, since (UTC), bytes in and out.")
        @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin
        @Flag(help: "Pre-login and LMTP connections too.") var all = false

        func run() throws { try askServer(config, remote, all ? ["who", "all"] : ["who"]) }
    }

    struct Penalty: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Login penalties and bans kept by the auth process.",
            subcommands: [List.self, Stats.self, Lift.self])

        struct Stats: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Counters: bans started (aerie_auth_bans_total), IPs and user names remembered.")
            @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin

            func run() throws { try askAuthProcess(config, remote, ["penalty", "stats"]) }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List the IPs (networks) and user names with a penalty, failures or a ban.")
            @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin

            func run() throws { try askAuthProcess(config, remote, ["penalty", "list"]) }
        }

        struct Lift: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Forget an IP's penalty and ban, or a user name's penalty.")
            @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin
            @Argument(help: "An IP address or a user name.") var target: String

            func run() throws { try askAuthProcess(config, remote, ["penalty", "lift", target]) }
        }
    }

    struct Ban: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Refuse an IP's (its network's) logins for a while (default auth_ban_time).")
        @Option(name: .short, help: "Configuration file.") var config: String?
            @OptionGroup var remote: RemoteAdmin
        @Argument(help: "The IP address.") var ip: String
        @Argument(help: "How long, e.g. \"2 hours\" or 600.") var duration: String?

        func run() throws {
            var arguments = ["ban", ip]
            if let duration {
                guard let parsed = AerieSettings.parseDuration(duration), parsed >= .seconds(1) else {
                    printError("Invalid duration: \(duration)")
                    throw ExitCode(1)
                }
                arguments.append(String(parsed.components.seconds))
            }
            try askAuthProcess(config, remote, arguments)
        }
    }
}

/// Sends one admin request to the serving process and prints its answer (`+` or `-`, text, EOF); exit 1 when it
/// refused or is unreachable.
func askServer(_ configPath: String?, _ remote: RemoteAdmin, _ arguments: [String]) throws {
    if try remote.ask(arguments) { return }
    let settings = try loadOrExit(configPath).settings
    let path = AdminSocket.path(baseDir: settings.baseDir)
    let fd = try connectAdmin(path, what: "the server")
    defer { close(fd) }
    let request = try AuthWire.encode(AuthWire.Request.admin(id: 1, arguments: arguments))
    guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else {
        throw admFailure("writing to the server failed")
    }
    var answer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    while answer.count < 16 * 1024 * 1024 {
        let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if got < 0 && errno == EINTR { continue }
        guard got > 0 else { break }
        answer += chunk[0..<got]
    }
    guard let status = answer.first else { throw admFailure("the server closed the connection without an answer") }
    let text = String(decoding: answer.dropFirst(), as: UTF8.self)
    guard status == UInt8(ascii: "+") else { throw admFailure(text) }
    if !text.isEmpty { print(text) }
}

/// Sends one admin request to the auth process and prints its answer; exit 1 when it refused or is unreachable.
func askAuthProcess(_ configPath: String?, _ remote: RemoteAdmin, _ arguments: [String]) throws {
    if try remote.ask(arguments) { return }
    let settings = try loadOrExit(configPath).settings
    let path = AuthProcess.socketPath(baseDir: settings.baseDir)
    let fd = try connectAdmin(path, what: "the auth process")
    defer { close(fd) }
    let request = try AuthWire.encode(AuthWire.Request.admin(id: 1, arguments: arguments))
    guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else {
        throw admFailure("writing to the auth process failed")
    }
    var frames = AuthWire.FrameBuffer()
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
        if let payload = try frames.next() {
            if let part = try AuthWire.decodeAdminPart(payload) {
                print(part)
                continue
            }
            let reply = try AuthWire.decodeAdminReply(payload)
            if reply.ok {
                if !reply.text.isEmpty { print(reply.text) }
                return
            }
            throw admFailure(reply.text)
        }
        let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard got > 0 else { throw admFailure("the auth process closed the connection without an answer") }
        frames.append(chunk[0..<got])
    }
}

/// `--host HOST:PORT --cert FILE --key FILE --ca FILE`: ask a server's `service aerie-admin` listener over TLS with
/// the admin's client certificate instead of this machine's unix sockets.
struct RemoteAdmin: ParsableArguments {
    @Option(help: "A server's aerie-admin listener, HOST:PORT (TLS with a client certificate).") var host: String?
    @Option(help: "The admin's certificate (PEM) for --host.") var cert: String?
    @Option(help: "The admin's private key (PEM) for --host.") var key: String?
    @Option(help: "The CA that signed the server's certificate (PEM) for --host.") var ca: String?

    /// False when no --host was given (ask this machine's sockets); throws ExitCode(1) when refused.
    func ask(_ arguments: [String]) throws -> Bool {
        guard let text = try request(arguments) else { return false }
        if !text.isEmpty { print(text) }
        return true
    }

    /// The server's answer; nil when no --host was given; throws ExitCode(1) when refused.
    func request(_ arguments: [String]) throws -> String? {
        guard let host else { return nil }
        guard let cert, let key, let ca else { throw admFailure("--host needs --cert, --key and --ca") }
        guard let colon = host.lastIndex(of: ":"), let port = Int(host[host.index(after: colon)...]),
            (1...65535).contains(port)
        else { throw admFailure("--host must be HOST:PORT") }
        var name = String(host[..<colon])
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        let answer: (ok: Bool, text: String)
        do {
            answer = try AdminClient.ask(
                host: name, port: port, certificate: cert, key: key, ca: ca, arguments: arguments)
        } catch { throw admFailure("\(error)") }
        guard answer.ok else { throw admFailure(answer.text) }
        return answer.text
    }
}

/// A connected unix socket with a 10 s receive timeout.
private func connectAdmin(_ path: String, what: String) throws -> Int32 {
    do {
        return try UnixSocket.connect(path, receiveTimeout: 10)
    } catch .pathTooLong {
        throw admFailure("\(path): too long")
    } catch {
        throw admFailure("cannot reach \(what) at \(path): \(error.reason) (is aerie serve running?)")
    }
}

private func admFailure(_ message: String) -> ExitCode {
    printError("aerie adm: \(message)")
    return ExitCode(1)
}
