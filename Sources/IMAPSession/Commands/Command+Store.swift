import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.6, RFC 7162 §3.1.3 (UNCHANGEDSINCE). Streams: a FETCH per changed message.
    static let store = storeEntry("STORE", uid: false)
    static let uidStore = storeEntry("UID STORE", uid: true)

    private static func storeEntry(_ name: String, uid: Bool) -> IMAPCommandSpec {
        IMAPCommandSpec(
            name, state: .selected, allowsExpunges: uid, runsOnDiskPool: true,
            mail: .streaming { session, command, output in
                guard case .store(let store) = command.kind, store.uid == uid else {
                    throw CommandFailure.unsupported(command)
                }
                return try session.store(store, output: output)
            })
    }
}

extension MailSession {
    /// RFC 9051 §6.4.6; the view takes the new flags, and new keywords are announced before the FETCH answers.
    func store(_ command: StoreCommand, output: any IMAPOutput) throws -> CommandResult {
        var selected = try requireSelected()
        guard !selected.readOnly else { throw CommandFailure(.no, .other("READ-ONLY"), "Mailbox is read-only.") }
        let uids = try resolve(command.sequence, uid: command.uid)
        let mode: StoreMode =
            switch command.mode {
            case .add: .add
            case .remove: .remove
            case .replace: .replace
            }
        if command.unchangedSince != nil {
            enableCondstore(output: output)
            selected = try requireSelected()
        }
        let live = uids.filter { !selected.pendingExpunges.contains($0) }
        let result = try selected.mailbox.store(
            uids: live, flags: MessageFlags(imapFlags: command.flags), mode: mode,
            unchangedSince: command.unchangedSince)
        for record in result.changed { selected.update(record) }
        announceKeywords(in: &selected, output: output)
        view = selected
        for record in result.changed {
            guard !command.silent || command.unchangedSince != nil,
                let sequence = selected.sequenceNumber(of: record.uid)
            else { continue }
            var builder = FetchResponseBuilder(sequenceNumber: UInt32(sequence))
            if !command.silent { builder.flags(flagList(record, in: selected)) }
            if command.uid || qresyncEnabled { builder.uid(record.uid) }
            if condstoreEnabled { builder.modSeq(record.modSeq) }
            output.sendRaw(builder.bytes)
        }
        if !result.failedModified.isEmpty {
            let numbers =
                command.uid
                ? result.failedModified : result.failedModified.compactMap { view?.sequenceNumber(of: $0) }.map(UInt32.init)
            return .ok("Conditional store failed.", code: IMAPResponseCode.modified(numbers))
        }
        return .ok("Store completed.")
    }
}
