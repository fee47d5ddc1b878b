import ArgumentParser

@main
struct Aerie: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aerie",
        abstract: "A secure-by-default IMAP server that reads Dovecot's configuration.",
        subcommands: [Serve.self, Conf.self, Pw.self]
    )
}

/// Where `-c` points when it is not given.
let systemConfigPath = "/etc/aerie/aerie.conf"
