import AerieConfig
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

struct Conf: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print, check or audit the configuration.",
        subcommands: [Show.self, Check.self],
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
            abstract: "Exit 0 if the configuration is valid; else print FILE:LINE: message lines and exit 1.")

        @Option(name: .short, help: "Configuration file.")
        var config: String?

        func run() throws {
            let loaded = try loadOrExit(config)
            for warning in loaded.warnings { printError(warning.description) }
            for warning in loaded.securityWarnings() { printError("warning: \(warning)") }
        }
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
