import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.4, RFC 6154 §3 (CREATE-SPECIAL-USE)
    static let create = IMAPCommandSpec(
        "CREATE", state: .authenticated, runsOnDiskPool: true,
        mail: .returning { session, command in
            guard case .create(let mailbox, let specialUse) = command.kind else {
                throw CommandFailure.unsupported(command)
            }
            let created = try session.name(mailbox)
            try session.store.create(created, specialUse: try SpecialUse.attributesForCreate(specialUse))
            // RFC 8474 §4.1: the new mailbox's MAILBOXID in the tagged OK.
            let id = (try? session.store.status(created).mailboxID) ?? ""
            return .ok("Create completed.", code: id.isEmpty ? nil : IMAPResponseCode.mailboxID(id))
        })
}
