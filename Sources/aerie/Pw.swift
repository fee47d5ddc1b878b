import AerieAuth
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `aerie pw`, like `doveadm pw`: make a hash, or test a password against one.
struct Pw: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate or verify password hashes.")

    @Option(name: .short, help: "Scheme: \(PasswordSchemes.supportedSchemes.joined(separator: ", ")).")
    var scheme: String = "SHA512-CRYPT"

    @Option(name: .short, help: "Password (asked for without echo when omitted).")
    var password: String?

    @Option(name: .short, help: "Rounds / cost for the scheme.")
    var rounds: Int?

    @Option(name: .short, help: "Test this {SCHEME}hash against the password instead of making one.")
    var test: String?

    @Flag(name: .customLong("allow-weak"), help: "Allow weak schemes (as auth_allow_weak_schemes = yes).")
    var allowWeak = false

    func run() throws {
        if let stored = test {
            let secret = try password ?? readSecret(prompt: "Enter password to verify: ")
            switch PasswordSchemes.verify(password: secret, stored: stored, allowWeakSchemes: allowWeak) {
            case .match:
                print("\(stored) (verified)")
            case .mismatch:
                printError("Password mismatch")
                throw ExitCode(1)
            case .weakSchemeRefused(let name):
                printError("\(name) is a weak scheme; pass --allow-weak to test it")
                throw ExitCode(1)
            case .unknownScheme(let name):
                printError("Unknown scheme: \(name)")
                throw ExitCode(1)
            case .malformed:
                printError("Malformed hash")
                throw ExitCode(1)
            }
            return
        }
        let upper = scheme.uppercased()
        if PasswordSchemes.isWeak(scheme: upper) && !allowWeak {
            printError("\(upper) is a weak scheme; pass --allow-weak to create it anyway")
            throw ExitCode(1)
        }
        let secret: String
        if let password {
            secret = password
        } else {
            secret = try readSecret(prompt: "Enter new password: ")
            let again = try readSecret(prompt: "Retype new password: ")
            guard secret == again else {
                printError("Passwords don't match!")
                throw ExitCode(1)
            }
        }
        do {
            print(try PasswordSchemes.hash(password: secret, scheme: upper, rounds: rounds))
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}

/// Reads a line with echo off on a terminal; from a pipe it reads the line as is.
func readSecret(prompt: String) throws -> String {
    let isTerminal = isatty(0) == 1
    var saved = termios()
    if isTerminal {
        printError(prompt)
        tcgetattr(0, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSANOW, &silent)
    }
    defer {
        if isTerminal {
            tcsetattr(0, TCSANOW, &saved)
            printError("")
        }
    }
    guard let line = readLine(strippingNewline: true) else {
        printError("No password given")
        throw ExitCode(1)
    }
    return line
}
