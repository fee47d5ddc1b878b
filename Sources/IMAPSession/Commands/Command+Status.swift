import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.11. Streams: STATUS HIGHESTMODSEQ enables CONDSTORE, and the HIGHESTMODSEQ of the selected
    /// mailbox must reach the client even when the STATUS then fails.
    static let status = IMAPCommandSpec(
        "STATUS", state: .authenticated,
        mail: .streaming { session, command, output in
            guard case .status(let mailbox, let items) = command.kind else {
                throw CommandFailure.unsupported(command)
            }
            try session.status(mailbox, items: items, output: output)
            return .ok("Status completed.")
        })
}

extension MailSession {
    func status(_ mailbox: MailboxName, items: [StatusItem], output: any IMAPOutput) throws {
        if items.contains(.highestModSeq) { enableCondstore(output: output) }
        try statusLine(try name(mailbox), items: items, output: output)
    }
}
