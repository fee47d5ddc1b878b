import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.2, with RFC 7162 §3.1.8 / §3.2.5 CONDSTORE and QRESYNC parameters. Streams: a QRESYNC resync
    /// sends a FETCH per changed message.
    static let select = IMAPCommandSpec(
        "SELECT", state: .authenticated,
        mail: .streaming { session, command, output in
            guard case .select(let mailbox, let parameters) = command.kind else {
                throw CommandFailure.unsupported(command)
            }
            return try session.select(mailbox, parameters: parameters, readOnly: false, output: output)
        })

    /// RFC 9051 §6.3.3
    static let examine = IMAPCommandSpec(
        "EXAMINE", state: .authenticated,
        mail: .streaming { session, command, output in
            guard case .examine(let mailbox, let parameters) = command.kind else {
                throw CommandFailure.unsupported(command)
            }
            return try session.select(mailbox, parameters: parameters, readOnly: true, output: output)
        })
}

extension MailSession {
    func select(_ mailbox: MailboxName, parameters: SelectParameters, readOnly: Bool, output: any IMAPOutput) throws
        -> CommandResult
    {
        if let previous = view {
            view = nil
            // RFC 7162 §3.2.11: with QRESYNC the client learns the old mailbox is closed.
            if qresyncEnabled { output.send(.untaggedStatus(.ok, .other("CLOSED"), "Previous mailbox closed.")) }
            _ = previous
        }
        let opened = try store.open(try name(mailbox))
        if parameters.condstore { enabled.insert("CONDSTORE") }
        var selected = MailboxView(mailbox: opened, readOnly: readOnly)
        sendFlags(opened.keywords, in: &selected, output: output)
        if readOnly {
            output.send(.untaggedStatus(.ok, IMAPResponseCode.permanentFlags([]), "Read-only mailbox."))
        }
        output.send(.untagged(IMAPResponseLine.exists(UInt32(selected.count))))
        if !enabled.contains("IMAP4REV2") {
            updateRecent(in: &selected)
            selected.reportedRecent = selected.recent.count
            output.send(.untagged(IMAPResponseLine.recent(UInt32(selected.recent.count))))
        }
        if let firstUnseen = selected.messages.firstIndex(where: { !$0.flags.system.contains(.seen) }),
            !enabled.contains("IMAP4REV2")
        {
            output.send(.untaggedStatus(.ok, IMAPResponseCode.unseen(UInt32(firstUnseen + 1)), "First unseen."))
        }
        output.send(.untaggedStatus(.ok, IMAPResponseCode.uidValidity(opened.uidValidity), "UIDs valid"))
        output.send(.untaggedStatus(.ok, IMAPResponseCode.uidNext(opened.uidNext), "Predicted next UID"))
        let mailboxID = opened.mailboxID
        if !mailboxID.isEmpty { output.send(.untaggedStatus(.ok, IMAPResponseCode.mailboxID(mailboxID), "Mailbox ID")) }
        if condstoreEnabled {
            output.send(
                .untaggedStatus(.ok, IMAPResponseCode.highestModSeq(selected.highestModSeq), "Highest"))
        }
        if let qresync = parameters.qresync, qresyncEnabled, qresync.uidValidity == opened.uidValidity {
            resync(qresync, view: &selected, output: output)
        }
        view = selected
        let code: IMAPResponseCode = readOnly ? IMAPResponseCode.readOnly : .other("READ-WRITE")
        let verb = readOnly ? "Examine" : "Select"
        return CommandResult(final: { .tagged($0, .ok, code, "\(verb) completed.") }, notify: false)
    }

    /// RFC 7162 §3.2.5.2: tell a reconnecting client what vanished and what changed since its modseq.
    func resync(_ qresync: QResyncParameters, view: inout MailboxView, output: any IMAPOutput) {
        let mailbox = view.mailbox
        if let vanished = mailbox.expungedSince(modSeq: qresync.modSeq), !vanished.isEmpty {
            let known = qresync.knownUIDs
            let reported = known.map { set in vanished.filter { set.contains($0, max: UInt32.max) } } ?? vanished
            if !reported.isEmpty { output.send(.untagged(IMAPResponseLine.vanished(reported, earlier: true))) }
        }
        for (index, record) in view.messages.enumerated() where record.modSeq > qresync.modSeq {
            var builder = FetchResponseBuilder(sequenceNumber: UInt32(index + 1))
            builder.uid(record.uid)
            builder.flags(flagList(record, in: view))
            builder.modSeq(record.modSeq)
            output.sendRaw(builder.bytes)
        }
    }
}
