import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 5465 §3. Streams: NOTIFY SET with STATUS sends a STATUS per watched mailbox.
    static let notify = IMAPCommandSpec(
        "NOTIFY", state: .authenticated,
        mail: .streaming { session, command, output in
            guard case .notify(let notify) = command.kind else { throw CommandFailure.unsupported(command) }
            return try session.notify(notify, output: output)
        })
}

extension MailSession {
    /// RFC 5465 §3: NOTIFY NONE ends notifications; NOTIFY SET replaces what an earlier one set.
    func notify(_ command: NotifyCommand?, output: any IMAPOutput) throws -> CommandResult {
        guard let command else {
            notifyState = nil
            return .ok("NOTIFY completed.")
        }
        var state = NotifyState()
        var selectedSet = false
        for group in command.groups {
            let events = Set(group.events)
            if !events.isDisjoint(with: NotifyState.unsupported) {
                let names = command.groups.flatMap(\.events).filter(NotifyState.unsupported.contains)
                var unique: [String] = []
                for name in names.map(\.rawValue) where !unique.contains(name) { unique.append(name) }
                throw CommandFailure(
                    .no, .other("BADEVENT " + unique.joined(separator: " ")), "Unsupported NOTIFY events.")
            }
            switch group.filter {
            case .selected, .selectedDelayed:
                guard !selectedSet else { throw CommandFailure(.bad, nil, "Duplicate selected filter") }
                selectedSet = true
                if events.contains(.flagChange) && !events.contains(.messageExpunge) {
                    throw CommandFailure(.bad, nil, "FlagChange requires MessageNew and MessageExpunge")
                }
                state.selectedEvents = events
                state.selectedDelayed = group.filter == .selectedDelayed
                state.messageNewFetch = group.messageNewFetch
            case .subtree(let names), .mailboxes(let names):
                state.groups.append((group.filter, try names.map { try name($0) }, events))
            case .inboxes, .personal, .subscribed:
                state.groups.append((group.filter, [], events))
            }
        }
        state.fetchedUID = view?.uids.last ?? 0
        snapshot(&state, output: command.sendStatus ? output : nil)
        notifyState = state
        return .ok("NOTIFY completed.")
    }
}
