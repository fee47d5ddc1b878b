import AerieAuth
import AerieConfig
import AerieCore
import AerieServer
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `aerie adm totp …` and `aerie adm app-password …`: write `state_dir/auth` directly (as root, or as a user who
/// may write there); the auth process picks the change up at the next login. Secrets are printed once, never kept.
struct FactorStoreAccess {
    let store: SecondFactorStore
    /// The auth process's group (default_internal_user's), so it can read what root writes.
    let group: UInt32?
    let usernameFormat: String

    init(_ configPath: String?) throws {
        let settings = try loadOrExit(configPath).settings
        guard !settings.stateDir.isEmpty else {
            printError("aerie adm: state_dir is empty: second factors are kept in state_dir/auth")
            throw ExitCode(1)
        }
        store = SecondFactorStore(directory: settings.stateDir + "/auth")
        group = geteuid() == 0 ? (try? AuthServiceProcess.internalAccount(settings))?.gid : nil
        usernameFormat = settings.authUsernameFormat
    }

    /// The name as the auth process will look it up (`auth_username_format`).
    func user(_ name: String) -> String {
        guard !usernameFormat.isEmpty else { return name }
        return (try? UserVariables.expand(usernameFormat, user: name)) ?? name
    }
}

func admFailed(_ message: String) -> ExitCode {
    printError("aerie adm: \(message)")
    return ExitCode(1)
}

struct TOTPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "totp", abstract: "Time-based one-time passwords (RFC 6238) for a user.",
        subcommands: [Enroll.self, Disable.self])

    struct Enroll: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol a user (replacing any earlier enrolment) and print the otpauth:// URI once.")
        @Option(name: .short, help: "Configuration file.") var config: String?
        @OptionGroup var remote: RemoteAdmin
        @Option(help: "HMAC: SHA1 (what most apps support) or SHA256.") var algorithm = "SHA1"
        @Option(help: "Issuer shown in the authenticator app.") var issuer = "Aerie"
        @Flag(name: .customLong("no-qr"), help: "Do not print the QR code.") var noQR = false
        @Argument(help: "The user.") var user: String

        func run() throws {
            guard let algorithm = TOTP.Algorithm(rawValue: algorithm.uppercased()), algorithm != .sha512 else {
                throw admFailed("--algorithm must be SHA1 or SHA256")
            }
            if let answer = try remote.request(["totp", "enroll", user, algorithm.rawValue, issuer]) {
                print(answer)
                if !noQR, let uri = answer.split(separator: "\n").first, let qr = TerminalQR.render(String(uri)) {
                    print("Scan with the authenticator app:")
                    print(qr.joined(separator: "\n"))
                }
                return
            }
            let access = try FactorStoreAccess(config)
            let name = access.user(user)
            guard SecondFactorStore.validName(name) else { throw admFailed("invalid user name") }
            do {
                let totp = try access.store.enrollTOTP(user: name, algorithm: algorithm, group: access.group)
                let uri = totp.uri(issuer: issuer, account: name)
                print(uri)
                print("secret (base32): \(Base32.encode(totp.secret))")
                print("Log in with PASSWORD\(separatorHint(config))CODE, or use an app password.")
                if !noQR, let qr = TerminalQR.render(uri) {
                    print("Scan with the authenticator app:")
                    print(qr.joined(separator: "\n"))
                }
            } catch { throw admFailed("\(error)") }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user's TOTP enrolment.")
        @Option(name: .short, help: "Configuration file.") var config: String?
        @OptionGroup var remote: RemoteAdmin
        @Argument(help: "The user.") var user: String

        func run() throws {
            if try remote.ask(["totp", "disable", user]) { return }
            let access = try FactorStoreAccess(config)
            let name = access.user(user)
            let had: Bool
            do { had = try access.store.disableTOTP(user: name, group: access.group) } catch {
                throw admFailed("\(error)")
            }
            guard had else { throw admFailed("\(name) has no TOTP enrolment") }
            print("TOTP disabled for \(name)")
        }
    }
}

private func separatorHint(_ configPath: String?) -> String {
    (try? loadOrExit(configPath).settings.string(forKey: "auth_totp_separator")) ?? ":"
}

struct AppPasswordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app-password", abstract: "Per-user app passwords: random, scoped, shown once.",
        subcommands: [Add.self, List.self, Revoke.self])

    static let protocols = ["imap", "pop3", "lmtp", "admin"]

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an app password and print it once.")
        @Option(name: .short, help: "Configuration file.") var config: String?
        @OptionGroup var remote: RemoteAdmin
        @Option(help: "Comma-separated protocols it is valid for (imap, pop3, lmtp, admin); default all.")
        var protocols: String?
        @Option(parsing: .upToNextOption, help: "Source networks (CIDR) it is valid from; default anywhere.")
        var nets: [String] = []
        @Option(help: "Valid for this long, e.g. \"90 days\"; default forever.") var expires: String?
        @Argument(help: "The user.") var user: String
        @Argument(help: "A name for it, e.g. phone.") var name: String

        func run() throws {
            if remote.host != nil {
                let list = protocols?.split(separator: ",").map { $0.trimmingSpaces.lowercased() } ?? []
                let networks = nets.flatMap { $0.split(separator: ",").map { String($0) } }
                var seconds = ""
                if let expires {
                    guard let duration = AerieSettings.parseDuration(expires), duration >= .seconds(1) else {
                        throw admFailed("invalid duration \(expires)")
                    }
                    seconds = String(duration.components.seconds)
                }
                let words = [
                    "app-password", "add", user, name, list.joined(separator: ","), networks.joined(separator: ","),
                    seconds,
                ]
                _ = try remote.ask(words)
                return
            }
            let access = try FactorStoreAccess(config)
            let account = access.user(user)
            guard SecondFactorStore.validName(account), SecondFactorStore.validName(name) else {
                throw admFailed("invalid user or app password name")
            }
            let list = protocols?.split(separator: ",").map { $0.trimmingSpaces.lowercased() } ?? []
            if let unknown = list.first(where: { !AppPasswordCommand.protocols.contains($0) }) {
                throw admFailed("unknown protocol \(unknown) (imap, pop3, lmtp, admin)")
            }
            let networks = nets.flatMap { $0.split(separator: ",").map { String($0) } }
            let parsed = CIDRList(networks)
            guard parsed.invalid.isEmpty else { throw admFailed("invalid network \(parsed.invalid[0])") }
            let now = Int64(time(nil))
            var until: Int64?
            if let expires {
                guard let duration = AerieSettings.parseDuration(expires), duration >= .seconds(1) else {
                    throw admFailed("invalid duration \(expires)")
                }
                until = now + duration.components.seconds
            }
            do {
                let secret = try access.store.addAppPassword(
                    user: account, name: name, protocols: list, networks: networks, expires: until, now: now,
                    group: access.group)
                print(secret)
            } catch { throw admFailed("\(error)") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a user's app passwords (never the secrets).")
        @Option(name: .short, help: "Configuration file.") var config: String?
        @OptionGroup var remote: RemoteAdmin
        @Argument(help: "The user.") var user: String

        func run() throws {
            if try remote.ask(["app-password", "list", user]) { return }
            let access = try FactorStoreAccess(config)
            let account = access.user(user)
            let factors: UserFactors
            do { factors = try access.store.allFactors()[account] ?? UserFactors() } catch {
                throw admFailed("\(error)")
            }
            print(factors.listing(now: Int64(time(nil))).joined(separator: "\n"))
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an app password.")
        @Option(name: .short, help: "Configuration file.") var config: String?
        @OptionGroup var remote: RemoteAdmin
        @Argument(help: "The user.") var user: String
        @Argument(help: "The app password's name.") var name: String

        func run() throws {
            if try remote.ask(["app-password", "revoke", user, name]) { return }
            let access = try FactorStoreAccess(config)
            let account = access.user(user)
            let had: Bool
            do { had = try access.store.revokeAppPassword(user: account, name: name, group: access.group) } catch {
                throw admFailed("\(error)")
            }
            guard had else { throw admFailed("\(account) has no app password named \(name)") }
            print("revoked: \(name)")
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
