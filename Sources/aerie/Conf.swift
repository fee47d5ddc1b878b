import AerieConfig
import AerieCore
import AerieServer
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

struct Conf: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print, check or audit the configuration.",
        subcommands: [Show.self, Check.self, Settings.self],
        defaultSubcommand: Show.self
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Print the effective configuration (like doveconf).")

        @Flag(name: .short, help: "Print only settings that differ from the defaults (like doveconf -n).")
        var nonDefault = false

        @Option(name: .short, help: "Configuration file.")
        var config: String?

        func run() throws {
            let loaded = try loadOrExit(config)
            print(loaded.dump(nonDefaultOnly: nonDefault), terminator: "")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exit 0 if `serve` would start with the configuration; else print why and exit 1.",
            discussion: "Runs every check `serve` runs before binding: settings (FILE:LINE), listeners, TLS files, "
                + "auth databases, accounts.")

        @Option(name: .short, help: "Configuration file.")
        var config: String?

        func run() throws {
            let loaded = try loadOrExit(config)
            for warning in loaded.warnings { printError(warning.description) }
            for warning in loaded.securityWarnings() { printError("warning: \(warning)") }
            do {
                _ = try Preflight.check(config: loaded, log: StderrWarnings())
            } catch {
                printError("Fatal: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Settings: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print, as a Markdown table, what every Dovecot setting Aerie knows does in Aerie.")

        func run() throws { print(Support.markdown(), terminator: "") }
    }
}

/// Loads the file given, or the system one, or the defaults; prints every diagnostic and exits 1 on errors.
func loadOrExit(_ path: String?) throws -> LoadedConfig {
    let chosen = path ?? (access(systemConfigPath, F_OK) == 0 ? systemConfigPath : nil)
    guard let chosen else { return ConfigLoader.defaults() }
    do {
        return try ConfigLoader.load(path: chosen)
    } catch {
        for diagnostic in error.diagnostics { printError(diagnostic.description) }
        throw ExitCode(1)
    }
}

func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// `conf check` shows the warnings `serve` would log while planning its listeners.
struct StderrWarnings: LogSink {
    func log(_ level: LogLevel, category: String, _ message: String) {
        if level >= .warning { printError("warning: \(message)") }
    }
}
