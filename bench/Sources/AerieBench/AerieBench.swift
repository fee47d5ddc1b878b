import ArgumentParser

@main
struct AerieBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aerie-bench",
        abstract: "Load generator for Aerie and Dovecot (IMAP, POP3, LMTP). Each run prints one `JSON {…}` line and a human line.",
        subcommands: [Idle.self, Logins.self, Mixed.self, Fetch.self, Select.self, Prime.self, LMTP.self, POP3.self]
    )
}
