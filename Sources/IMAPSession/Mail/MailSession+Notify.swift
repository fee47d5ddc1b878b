import AerieStorage
import IMAPProtocol

/// What NOTIFY SET asked for (RFC 5465), and what the client was last told about the mailboxes it watches.
///
/// Rules kept here:
/// - Events are found by comparing the watched mailboxes with the last snapshot, at the end of every command and at
///   every poll (the connection polls while NOTIFY is set, IDLE or not), so the client hears of a change within one
///   poll interval even when it sends nothing (§3: notifications may come at any time).
/// - Other mailboxes: MessageNew, MessageExpunge and FlagChange become a STATUS with the items that changed (§5.2-5.4:
///   MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN, and HIGHESTMODSEQ with FlagChange); MailboxName becomes a LIST of a new
///   name or `\NonExistent` for a gone one (a RENAME shows as both), SubscriptionChange a LIST with or without
///   `\Subscribed` (§5.5, §5.6). The selected mailbox never gets a STATUS (§5.1).
/// - The selected mailbox: with SELECTED events, changes are also announced between commands (EXISTS, FETCH, and
///   EXPUNGE unless SELECTED-DELAYED, §5.1), and `MessageNew (fetch-att …)` FETCHes each new message once announced.
/// - Unsupported events (annotations and metadata, which Aerie does not store) are refused with BADEVENT (§3.1).
struct NotifyState {
    var selectedEvents: Set<NotifyEvent> = []
    var selectedDelayed = false
    var messageNewFetch: [FetchAttribute] = []
    /// Non-selected filters, their mailbox names in storage form.
    var groups: [(filter: NotifyEventGroup.Filter, names: [String], events: Set<NotifyEvent>)] = []
    /// Snapshot: existing mailboxes, subscriptions, and the STATUS of every watched mailbox.
    var mailboxes: Set<String> = []
    var subscriptions: Set<String> = []
    var statuses: [String: MailboxStatus] = [:]
    /// The selected mailbox's messages up to this UID were FETCHed for `MessageNew (fetch-att)`.
    var fetchedUID: UInt32 = 0

    static let messageEvents: Set<NotifyEvent> = [.messageNew, .messageExpunge, .flagChange]
    static let unsupported: [NotifyEvent] = [.annotationChange, .mailboxMetadataChange, .serverMetadataChange]

    /// The events watched for a mailbox (storage name) other than the selected one.
    func events(for name: String) -> Set<NotifyEvent> {
        var events: Set<NotifyEvent> = []
        for group in groups {
            let matches: Bool
            switch group.filter {
            case .inboxes: matches = name == "INBOX"
            case .personal: matches = true
            case .subscribed: matches = subscriptions.contains(name)
            case .subtree: matches = group.names.contains { name == $0 || name.hasPrefix($0 + "/") }
            case .mailboxes: matches = group.names.contains(name)
            case .selected, .selectedDelayed: matches = false
            }
            if matches { events.formUnion(group.events) }
        }
        return events
    }

    var usesFlagChange: Bool { groups.contains { $0.events.contains(.flagChange) } }
}

extension MailSession {
    /// True while NOTIFY is set: the connection then polls (`idlePoll`) even when the client is not IDLE.
    public var wantsNotifyPolling: Bool { notifyState != nil }

    /// Takes the first snapshot; with `output` (NOTIFY SET STATUS) sends each watched mailbox's STATUS (§3.1).
    func snapshot(_ state: inout NotifyState, output: (any IMAPOutput)?) {
        state.mailboxes = Set(((try? store.list()) ?? []).filter { !$0.attributes.contains(.noSelect) }.map(\.name))
        state.subscriptions = Set((try? store.subscriptions()) ?? [])
        let selected = view?.mailbox.name
        for name in state.mailboxes.sorted() where !state.events(for: name).isDisjoint(with: NotifyState.messageEvents)
        {
            guard let status = try? store.status(name) else { continue }
            state.statuses[name] = status
            guard let output, name != selected else { continue }
            var items: [(StatusItem, UInt64)] = [
                (.messages, UInt64(status.messages)), (.uidNext, UInt64(status.uidNext)),
                (.uidValidity, UInt64(status.uidValidity)), (.unseen, UInt64(status.unseen)),
            ]
            if state.usesFlagChange { items.append((.highestModSeq, status.highestModSeq)) }
            sendStatus(name, items, output: output)
        }
    }

    /// Announces what changed since the last snapshot (see `NotifyState`); `betweenCommands` when no command runs.
    func deliverNotifications(output: any IMAPOutput, betweenCommands: Bool) {
        guard var state = notifyState else { return }
        if betweenCommands && !state.selectedEvents.isEmpty && !isIdling {
            notifyChanges(output: output, allowExpunge: !state.selectedDelayed)
        }
        fetchNewMessages(&state, output: output)
        let listings = (try? store.list()) ?? []
        let mailboxes = Set(listings.filter { !$0.attributes.contains(.noSelect) }.map(\.name))
        let subscriptions = Set((try? store.subscriptions()) ?? [])
        for name in mailboxes.subtracting(state.mailboxes).sorted() where state.events(for: name).contains(.mailboxName)
        {
            sendList(name, attributes: [], output: output)
        }
        for name in state.mailboxes.subtracting(mailboxes).sorted()
        where state.events(for: name).contains(.mailboxName) {
            sendList(name, attributes: ["\\NonExistent"], output: output)
            state.statuses[name] = nil
        }
        for name in subscriptions.symmetricDifference(state.subscriptions).sorted()
        where state.events(for: name).contains(.subscriptionChange) {
            sendList(name, attributes: subscriptions.contains(name) ? ["\\Subscribed"] : [], output: output)
        }
        state.mailboxes = mailboxes
        state.subscriptions = subscriptions
        let selected = view?.mailbox.name
        for name in mailboxes.sorted() {
            let events = state.events(for: name)
            guard !events.isDisjoint(with: NotifyState.messageEvents), let status = try? store.status(name) else {
                continue
            }
            defer { state.statuses[name] = status }
            guard let old = state.statuses[name], name != selected else { continue }
            var items: [(StatusItem, UInt64)] = []
            if status.messages != old.messages && !events.isDisjoint(with: [.messageNew, .messageExpunge]) {
                items.append((.messages, UInt64(status.messages)))
            }
            if status.uidNext != old.uidNext && events.contains(.messageNew) {
                items.append((.uidNext, UInt64(status.uidNext)))
            }
            if status.uidValidity != old.uidValidity { items.append((.uidValidity, UInt64(status.uidValidity))) }
            if status.unseen != old.unseen { items.append((.unseen, UInt64(status.unseen))) }
            if status.highestModSeq != old.highestModSeq && events.contains(.flagChange) {
                items.append((.highestModSeq, status.highestModSeq))
            }
            if !items.isEmpty { sendStatus(name, items, output: output) }
        }
        notifyState = state
    }

    /// RFC 5465 §5.2: `MessageNew (fetch-att …)` for the selected mailbox, once its EXISTS went out.
    private func fetchNewMessages(_ state: inout NotifyState, output: any IMAPOutput) {
        guard let current = view, let last = current.uids.last else { return }
        defer { state.fetchedUID = max(state.fetchedUID, last) }
        guard !state.messageNewFetch.isEmpty, last > state.fetchedUID else { return }
        let set = SequenceSet(numbers: current.uids.filter { $0 > state.fetchedUID })
        _ = try? fetch(FetchCommand(uid: true, sequence: set, attributes: state.messageNewFetch), output: output)
    }

    private func sendStatus(_ name: String, _ items: [(StatusItem, UInt64)], output: any IMAPOutput) {
        output.send(
            .untagged(IMAPResponseLine.status(mailbox: clientName(name), utf8Enabled: utf8Enabled, values: items)))
    }

    private func sendList(_ name: String, attributes: [String], output: any IMAPOutput) {
        output.send(
            .untagged(
                IMAPResponseLine.list(
                    attributes: attributes, delimiter: settings.separator, mailbox: clientName(name),
                    utf8Enabled: utf8Enabled)))
    }
}
