import IMAPProtocol

extension IMAPCommands {
    /// RFC 5161 §3.1: the mail session knows which extensions it can turn on.
    static let enable = IMAPCommandSpec(
        "ENABLE", state: .authenticated, wrongStateText: "ENABLE is valid only after login.",
        mail: .returning { session, command in
            guard case .enable(let names) = command.kind else { throw CommandFailure.unsupported(command) }
            return session.enable(names)
        })
}

extension MailSession {
    func enable(_ names: [String]) -> CommandResult {
        var turnedOn: [String] = []
        for name in names {
            let upper = name.uppercased()
            guard ["CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4REV2"].contains(upper), !enabled.contains(upper) else {
                continue
            }
            enabled.insert(upper)
            if upper == "QRESYNC" { enabled.insert("CONDSTORE") }
            turnedOn.append(upper == "IMAP4REV2" ? "IMAP4rev2" : upper)
        }
        return .ok("Enabled.", untagged: [.untagged(IMAPResponseLine.enabled(turnedOn))])
    }
}
